"""Every Prometheus metric of Allsak, defined once.

One process hosts every service in the embedded mode, and a metric defined twice crashes it,
so services import these objects instead of defining their own. Names follow
``allsak_<service>_<what>_<unit>``; the generic ones carry a ``service`` label.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "allsak_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "allsak_http_request_duration_seconds", "HTTP request duration", ["service", "method", "route"]
)
CONSUMED = Counter(
    "allsak_bus_messages_consumed_total",
    "Bus deliveries handled, by outcome (ok, error, duplicate)",
    ["service", "queue", "outcome"],
)
HANDLER_DURATION = Histogram(
    "allsak_bus_handler_duration_seconds", "Event handler duration", ["service", "queue"]
)
PUBLISHED = Counter("allsak_bus_published_total", "Events published from the outbox", ["service"])
OUTBOX_PENDING = Gauge("allsak_outbox_pending", "Events in the outbox not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "allsak_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event", ["service"]
)
DEAD_LETTERS = Gauge(
    "allsak_bus_dead_letters", "Messages waiting in a dead-letter queue", ["service", "queue"]
)

INTAKE_RECEIVED = Counter("allsak_intake_messages_received_total", "Messages stored by intake", ["channel"])
INTAKE_QUARANTINED = Counter(
    "allsak_intake_messages_quarantined_total", "Messages put in quarantine", ["reason"]
)
INTAKE_QUARANTINE_WAITING = Gauge("allsak_intake_quarantine_waiting", "Quarantined messages not yet resolved")
CASES_CREATED = Counter("allsak_cases_cases_created_total", "Cases registered", ["channel"])
SLA_EVENTS = Counter(
    "allsak_cases_sla_events_total", "SLA warnings and breaches emitted by the timer", ["kind", "clock"]
)
NOTIFY_SENT = Counter("allsak_notify_mails_sent_total", "Mails sent", ["kind"])
NOTIFY_FAILED = Counter("allsak_notify_mails_failed_total", "Mail send attempts that failed", ["kind"])
NOTIFY_SUPPRESSED = Counter(
    "allsak_notify_mails_suppressed_total", "Automatic mails not sent (cap, own address)", ["kind"]
)
WEBHOOK_DELIVERIES = Counter(
    "allsak_integration_webhook_deliveries_total", "Webhook delivery attempts", ["outcome"]
)
