"""Whether a case type's configuration holds together: each problem names where and what to fix."""

from __future__ import annotations

from dataclasses import replace

from services.cases.casetypes.config import problems
from services.cases.casetypes.domain import (
    ITIL_MATRIX,
    FieldDef,
    FieldKind,
    Option,
    Stage,
    StatusDef,
    TypeDef,
)

L = {"en": "x", "nb": "x"}
GOOD = TypeDef(
    key="wrong_invoice",
    labels=L,
    fields=(
        FieldDef("invoice_no", L, FieldKind.TEXT, mandatory_at=Stage.CREATE),
        FieldDef("cause", L, FieldKind.SELECT, (Option("vat", L), Option("price", L))),
    ),
    transitions={"new": ("open",), "open": ("resolved", "closed")},
    matrix=ITIL_MATRIX,
    forms={"agent": ("cause", "invoice_no"), "portal": ("invoice_no",)},
)


def messages(type_def: TypeDef) -> list[tuple[str, str]]:
    return [(p.field, p.message) for p in problems(type_def)]


def test_a_good_configuration_has_no_problems() -> None:
    assert problems(GOOD) == []


def test_field_keys_and_options() -> None:
    bad = replace(
        GOOD,
        fields=(
            FieldDef("a", L, FieldKind.TEXT),
            FieldDef("a", L, FieldKind.TEXT, (Option("o", L),)),
            FieldDef("b", L, FieldKind.MULTI_SELECT),
            FieldDef("c", L, FieldKind.SELECT, (Option("o", L), Option("o", L))),
        ),
        forms={},
    )
    assert messages(bad) == [
        ("fields", "key 'a' is used twice"),
        ("fields.a", "a text field has no options; remove them"),
        ("fields.b", "a multi_select field needs options"),
        ("fields.c", "option 'o' is given twice"),
    ]


def test_a_type_needs_a_status_of_new_open_resolved_and_closed() -> None:
    bad = replace(
        GOOD,
        statuses=(
            StatusDef("new", L, "new"),
            StatusDef("open", L, "open"),
            StatusDef("open", L, "waiting_for_customer"),
        ),
        transitions={},
    )
    found = messages(bad)
    assert found[0] == ("statuses", "key 'open' is used twice")
    assert [m for _, m in found[1:]] == [
        "no status of category 'resolved': a case type needs at least one status of each of new, open, resolved, closed",
        "no status of category 'closed': a case type needs at least one status of each of new, open, resolved, closed",
    ]


def test_transitions_name_statuses_of_the_type() -> None:
    bad = replace(GOOD, transitions={"nye": ("open",), "open": ("lukket",)})
    assert messages(bad) == [
        ("transitions", "'nye' is no status of this type"),
        ("transitions.open", "'lukket' is no status of this type"),
    ]


def test_a_matrix_must_be_complete() -> None:
    partial = {"high": dict(ITIL_MATRIX["high"]), "medium": {"high": "high"}, "low": dict(ITIL_MATRIX["low"])}
    found = messages(replace(GOOD, matrix=partial))
    assert [field for field, _ in found] == ["priority_matrix.medium.medium", "priority_matrix.medium.low"]
    assert "needs a priority, one of low, normal, high, critical" in found[0][1]


def test_forms_name_existing_fields_once_and_the_portal_shows_every_create_field() -> None:
    bad = replace(GOOD, forms={"agent": ("cause", "cause", "colour"), "portal": ("cause",)})
    assert messages(bad) == [
        ("forms.agent", "'colour' is no field of this type"),
        ("forms.agent", "'cause' is on the form twice"),
        ("forms.portal", "'invoice_no' is mandatory at create, so the portal form must show it"),
    ]


def test_a_form_shows_its_fields_in_order_and_every_field_without_one() -> None:
    assert [f.key for f in GOOD.form("agent")] == ["cause", "invoice_no"]
    assert [f.key for f in replace(GOOD, forms={}).form("portal")] == ["invoice_no", "cause"]
