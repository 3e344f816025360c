"""Frontline's four services; none imports another (import-linter checks this in `make test`)."""
