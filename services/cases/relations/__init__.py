"""Relations between cases and what happened to them: links, merge, time registration, audit trail."""
