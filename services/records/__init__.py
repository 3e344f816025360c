"""records — the tamper-evident audit trail of every event, timelines and KPIs."""
