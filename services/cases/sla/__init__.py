"""SLA policies wired to cases: due times on the case and the timer that warns and breaches."""
