"""SLA policies wired to cases: calendars, policies, due times on the case, and the timer that
warns and breaches. The choices made where the issue was silent are in ``docs/sla.md``."""
