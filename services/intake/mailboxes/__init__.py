"""Mailboxes: the addresses intake takes mail for, with their channel, routing and policies."""
