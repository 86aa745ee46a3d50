"""The intake service: takes raw mail in, stores it before answering, parses it, and
announces it to the cases service or puts it in quarantine with a reason."""
