"""A supervisor's wallboard: one page over the services' REST APIs (it imports none of them)."""
