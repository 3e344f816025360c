"""Intake's pure core: redaction, identity, language, concern, triage. No I/O, no clock."""
