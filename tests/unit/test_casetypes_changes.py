"""The case type's gate, pure: registration, transitions, stage gates, type changes, the matrix,
and the merge rule."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from services.cases.casetypes.changes import CaseState, plan_change, plan_registration
from services.cases.casetypes.domain import (
    ITIL_MATRIX,
    ChangeRefused,
    FieldDef,
    FieldKind,
    Option,
    Stage,
    StatusDef,
    TypeDef,
    built_in,
)


def labels(en: str, nb: str | None = None) -> dict[str, str]:
    return {"en": en, "nb": nb or en}


INVOICE = TypeDef(
    key="wrong_invoice",
    labels=labels("Wrong invoice", "Feil faktura"),
    department="finance",
    fields=(
        FieldDef("invoice_no", labels("Invoice number"), FieldKind.TEXT, mandatory_at=Stage.CREATE),
        FieldDef(
            "cause",
            labels("Cause"),
            FieldKind.SELECT,
            (Option("price", labels("Price")), Option("vat", labels("VAT"))),
            mandatory_at=Stage.RESOLVE,
        ),
        FieldDef(
            "corrected_invoice_no",
            labels("Corrected invoice number"),
            FieldKind.TEXT,
            mandatory_at=Stage.CLOSE,
        ),
        FieldDef("note", labels("Note"), FieldKind.LONG_TEXT),
    ),
    statuses=(
        StatusDef("received", labels("Received"), "new"),
        StatusDef("in_progress", labels("In progress"), "open"),
        StatusDef("waiting", labels("Waiting for customer"), "waiting_for_customer"),
        StatusDef("credited", labels("Credited"), "resolved"),
        StatusDef("done", labels("Done"), "closed"),
        StatusDef("rejected", labels("Rejected"), "closed"),
    ),
    transitions={
        "received": ("in_progress", "rejected"),
        "in_progress": ("waiting", "credited"),
        "waiting": ("in_progress",),
        "credited": ("done", "in_progress"),
    },
)
ITIL = TypeDef(
    key="incident",
    labels=labels("Incident", "Hendelse"),
    matrix=ITIL_MATRIX,
    default_impact="medium",
    default_urgency="medium",
)
COMPLETE = {"invoice_no": "F-1", "cause": "vat", "corrected_invoice_no": "F-2"}


def state(type_def: TypeDef = INVOICE, status: str = "in_progress", **values: Any) -> CaseState:
    known = type_def.status(status)
    category = known.category if known is not None else status
    base: dict[str, Any] = {"priority": "normal", "fields": {"invoice_no": "F-1"}}
    return CaseState(type=type_def.key, status=status, status_category=category, **{**base, **values})


def refusal(case: CaseState, changes: dict[str, Any], target: TypeDef = INVOICE) -> ChangeRefused:
    current = INVOICE if case.type == INVOICE.key else ITIL if case.type == ITIL.key else built_in(case.type)
    with pytest.raises(ChangeRefused) as caught:
        plan_change(case, changes, current=current, target=target)
    return caught.value


def planned(case: CaseState, changes: dict[str, Any], target: TypeDef = INVOICE) -> dict[str, Any]:
    current = INVOICE if case.type == INVOICE.key else ITIL if case.type == ITIL.key else built_in(case.type)
    return plan_change(case, changes, current=current, target=target)


# Registration


def test_registration_starts_in_the_first_new_status_with_defaults_and_matrix_priority() -> None:
    plan = plan_registration(ITIL, fields={}, impact="high", urgency=None, priority="normal", enforce=True)
    assert plan == {
        "status": "new",
        "status_category": "new",
        "fields": {},
        "impact": "high",
        "urgency": "medium",
        "priority": "high",
    }
    invoice = plan_registration(
        INVOICE, fields={"invoice_no": "F-1"}, impact=None, urgency=None, priority="low", enforce=True
    )
    assert (invoice["status"], invoice["priority"], invoice["impact"]) == ("received", "low", None)


def test_registration_without_a_create_field_is_refused_unless_not_enforced() -> None:
    with pytest.raises(ChangeRefused) as caught:
        plan_registration(INVOICE, fields={}, impact=None, urgency=None, priority="normal", enforce=True)
    assert caught.value.missing == ["invoice_no"]
    assert "Invoice number (invoice_no)" in caught.value.message
    mail = plan_registration(INVOICE, fields={}, impact=None, urgency=None, priority="normal", enforce=False)
    assert mail["status"] == "received" and mail["fields"] == {}


def test_an_inactive_type_registers_no_case_but_mail() -> None:
    inactive = replace(INVOICE, active=False)
    with pytest.raises(ChangeRefused) as caught:
        plan_registration(
            inactive, fields={"invoice_no": "x"}, impact=None, urgency=None, priority="normal", enforce=True
        )
    assert caught.value.problems[0].field == "type"
    assert plan_registration(inactive, fields={}, impact=None, urgency=None, priority="normal", enforce=False)


# Statuses and transitions


def test_a_status_change_carries_its_category_and_a_no_op_is_nothing() -> None:
    assert planned(state(), {"status": "waiting"}) == {
        "status": "waiting",
        "status_category": "waiting_for_customer",
    }
    assert planned(state(), {"status": "in_progress", "assignee": None}, INVOICE) == {}
    assert planned(state(others={"assignee": "ola"}), {"assignee": "kari"}) == {"assignee": "kari"}


def test_a_transition_not_allowed_is_refused_naming_the_allowed_ones() -> None:
    refused = refusal(state(status="received"), {"status": "credited"})
    assert refused.allowed == ["in_progress", "rejected"]
    assert "allowed: in_progress, rejected" in refused.message


def test_a_status_without_transitions_may_go_anywhere() -> None:
    done = state(status="done", fields=COMPLETE)
    assert planned(done, {"status": "received"})["status_category"] == "new"


def test_an_unknown_status_names_the_statuses_of_the_type() -> None:
    refused = refusal(state(), {"status": "resolved"})
    assert refused.problems[0].field == "status"
    assert "received, in_progress, waiting, credited, done, rejected" in refused.problems[0].message


def test_the_built_in_type_has_the_six_categories_and_any_transition() -> None:
    plain = built_in("incident")
    case = CaseState(type="incident", status="new", status_category="new", priority="normal")
    assert plan_change(case, {"status": "closed"}, current=plain, target=plain) == {
        "status": "closed",
        "status_category": "closed",
    }
    assert plan_change(case, {"priority": "high"}, current=plain, target=plain) == {"priority": "high"}


# Stage gates


def test_resolving_needs_the_resolve_fields_and_closing_the_close_fields_too() -> None:
    resolving = refusal(state(), {"status": "credited"})
    assert resolving.missing == ["cause"]
    assert resolving.message == "resolving a case of type 'Wrong invoice' needs Cause (cause)"
    closing = refusal(state(status="credited", fields={"invoice_no": "F-1"}), {"status": "done"})
    assert closing.missing == ["cause", "corrected_invoice_no"]
    assert [f.mandatory_at for f in closing.fields] == [Stage.RESOLVE, Stage.CLOSE]
    assert closing.message.startswith("closing a case of type 'Wrong invoice' needs")


def test_fields_given_with_the_change_count() -> None:
    case = state(status="credited", fields={"invoice_no": "F-1", "cause": "vat"})
    change = planned(case, {"status": "done", "fields": {"corrected_invoice_no": "F-2"}})
    assert change["status_category"] == "closed"
    assert change["fields"] == COMPLETE


def test_clearing_a_field_of_a_stage_passed_is_refused_but_not_of_a_stage_ahead() -> None:
    resolved = state(
        status="credited", fields={"invoice_no": "F-1", "cause": "vat", "corrected_invoice_no": "F-2"}
    )
    assert refusal(resolved, {"fields": {"cause": None}}).missing == ["cause"]
    assert planned(resolved, {"fields": {"corrected_invoice_no": None}})["fields"] == {
        "invoice_no": "F-1",
        "cause": "vat",
    }
    assert refusal(state(), {"fields": {"invoice_no": None}}).missing == ["invoice_no"]


def test_create_fields_are_required_by_any_change_of_a_case_registered_without_them() -> None:
    from_mail = state(status="received", fields={})
    refused = refusal(from_mail, {"assignee": "ola"})
    assert refused.missing == ["invoice_no"]
    assert planned(from_mail, {"assignee": "ola", "fields": {"invoice_no": "F-9"}})["assignee"] == "ola"


def test_unrelated_changes_of_a_resolved_case_need_no_field_added_later_to_its_stage() -> None:
    resolved = state(status="credited", fields={"invoice_no": "F-1"})
    assert planned(resolved, {"fields": {"note": "ringt kunden"}})["fields"]["note"] == "ringt kunden"


# Changing the type


def test_a_type_change_keeps_the_category_keeps_fitting_fields_and_drops_the_rest() -> None:
    case = CaseState(
        type="incident",
        status="open",
        status_category="open",
        priority="normal",
        fields={},
        impact="high",
        urgency="low",
    )
    change = plan_change(
        case, {"type": "wrong_invoice", "fields": {"invoice_no": "F-1"}}, current=ITIL, target=INVOICE
    )
    assert change == {
        "type": "wrong_invoice",
        "status": "in_progress",
        "status_category": "open",
        "fields": {"invoice_no": "F-1"},
    }
    back = state(fields={"invoice_no": "F-1", "note": "x"}, priority="low")
    assert planned(back, {"type": "incident"}, ITIL) == {
        "type": "incident",
        "status": "open",
        "status_category": "open",
        "fields": {},
        "impact": "medium",
        "urgency": "medium",
        "priority": "normal",
    }


def test_a_type_change_needs_the_fields_of_every_stage_passed() -> None:
    resolved = CaseState(type="incident", status="resolved", status_category="resolved", priority="normal")
    refused = refusal(resolved, {"type": "wrong_invoice", "fields": {"invoice_no": "F-1"}}, INVOICE)
    assert refused.missing == ["cause"]
    assert refused.message.startswith("changing the type to 'Wrong invoice' needs")


def test_a_waiting_case_changing_to_a_type_without_waiting_statuses_opens() -> None:
    no_waiting = replace(
        INVOICE, key="plain", statuses=tuple(s for s in INVOICE.statuses if s.key != "waiting")
    )
    change = planned(state(status="waiting"), {"type": "plain"}, no_waiting)
    assert (change["status"], change.get("status_category")) == ("in_progress", "open")


def test_a_type_change_to_an_unconfigured_or_inactive_type_is_refused() -> None:
    assert refusal(state(), {"type": "nope"}, built_in("nope")).problems[0].field == "type"
    assert (
        refusal(state(), {"type": "old"}, replace(INVOICE, key="old", active=False)).problems[0].field
        == "type"
    )


def test_a_kept_value_that_no_longer_fits_names_the_field() -> None:
    number = replace(
        INVOICE, key="numbered", fields=(FieldDef("invoice_no", labels("No"), FieldKind.NUMBER),)
    )
    refused = refusal(state(), {"type": "numbered"}, number)
    assert (
        refused.problems[0].field == "invoice_no" and "give a new one, or null" in refused.problems[0].message
    )
    assert planned(state(), {"type": "numbered", "fields": {"invoice_no": 7}}, number)["fields"] == {
        "invoice_no": 7
    }


# Priority matrix


def test_the_matrix_derives_the_priority_when_impact_or_urgency_changes() -> None:
    case = CaseState(
        type="incident",
        status="open",
        status_category="open",
        priority="normal",
        impact="medium",
        urgency="medium",
    )
    assert planned(case, {"impact": "high", "urgency": "high"}, ITIL) == {
        "impact": "high",
        "urgency": "high",
        "priority": "critical",
    }
    assert planned(case, {"urgency": "low"}, ITIL) == {"urgency": "low", "priority": "low"}


def test_setting_the_priority_directly_is_refused_where_the_matrix_derives_it() -> None:
    case = CaseState(type="incident", status="open", status_category="open", priority="normal")
    refused = refusal(case, {"priority": "critical"}, ITIL)
    assert refused.problems[0].field == "priority" and "set impact and urgency" in refused.problems[0].message
    assert planned(case, {"priority": "normal", "assignee": "ola"}, ITIL) == {"assignee": "ola"}


def test_without_both_impact_and_urgency_the_priority_stays() -> None:
    case = CaseState(type="incident", status="open", status_category="open", priority="high")
    assert planned(case, {"impact": "low"}, ITIL) == {"impact": "low"}


# Merge


def test_a_merge_closes_a_duplicate_without_its_mandatory_fields() -> None:
    case = state(status="in_progress", fields={})
    change = planned(case, {"status": "rejected", "merged_into": 10001}, replace(INVOICE, transitions={}))
    assert change == {"status": "rejected", "status_category": "closed", "merged_into": 10001}
    assert refusal(case, {"status": "rejected"}, replace(INVOICE, transitions={})).missing == [
        "invoice_no",
        "cause",
        "corrected_invoice_no",
    ]


def test_a_merge_still_respects_transitions() -> None:
    refused = refusal(state(status="in_progress"), {"status": "rejected", "merged_into": 10001})
    assert refused.allowed == ["waiting", "credited"]


# Automatic moves


def test_the_first_status_of_a_category_the_current_one_may_go_to() -> None:
    assert INVOICE.first_status("closed") == "done"
    assert INVOICE.first_status("closed", after="received") == "rejected"
    assert INVOICE.first_status("closed", after="in_progress") is None
    assert INVOICE.first_status("open", after="waiting") == "in_progress"
