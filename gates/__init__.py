"""Ticket gates: scanning QR e-tickets online and offline, admissions and people inside."""
