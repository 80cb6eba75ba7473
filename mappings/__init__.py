"""Mappings: pure functions and code lists turning raw source records into canonical records."""
