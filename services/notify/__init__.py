"""The notify service: outgoing mail (acknowledgements now; replies and notifications later)."""
