"""Channel drivers of intake: how mail reaches ``service.receive_message`` (SMTP/LMTP, IMAP)."""
