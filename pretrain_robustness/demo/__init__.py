"""Embedded default data: small generated datasets written in the real on-disk formats."""
