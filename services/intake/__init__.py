"""intake — the front door: validates, deduplicates, identifies, understands and redacts every contact."""
