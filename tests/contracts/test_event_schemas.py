"""Every event's JSON schema is pinned: a change to a published event must be deliberate."""

from shared.events import registered_events
from tests.contracts.snapshot import assert_snapshot


def test_event_schemas_match_snapshot() -> None:
    schemas = {key: cls.model_json_schema() for key, cls in registered_events().items()}
    assert "cases.case_created.v1" in schemas
    assert_snapshot("events.json", schemas)


def test_routing_keys_are_producer_event_version() -> None:
    for key, cls in registered_events().items():
        producer, event, version = key.split(".")
        assert producer == cls.producer and event == cls.event and version == f"v{cls.version}"
        assert event.islower() and " " not in event
        assert cls.__doc__, f"{key} needs a one-line docstring saying when it is emitted"
