"""Routing rules and automatic assignment of new cases."""
