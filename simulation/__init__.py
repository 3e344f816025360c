"""The contact-center simulator and the queueing theory it is checked against (issue 7)."""
