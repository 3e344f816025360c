"""upsell — soft-sales suggestions where, and only where, they fit."""
