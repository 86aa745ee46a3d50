"""One gate on every path, on SQLite and PostgreSQL: bulk update (all or nothing, access), mail
(trusted headers, a customer's reply, a mail-registered case), templates, the first reply and
merge."""

from __future__ import annotations

from typing import Any

from shared.events.intake import Routing
from shared.testing import wait_for
from tests.service import test_casetypes as harness
from tests.service.test_casetypes import CORRECTED, ITIL_TYPE, REQUESTER, Desk, as_user, labels

desk = harness.desk  # the fixture

CLOSE_FIELDS = {"cause": "vat", "corrected_invoice_number": "F-1001-K"}


async def in_progress(desk: Desk, **fields: Any) -> str:
    number = await desk.invoice_case(**fields)
    await desk.patch(f"/api/v1/cases/{number}", {"status": "in_progress"})
    return number


# Bulk update


async def test_bulk_close_is_all_or_nothing_and_names_what_each_case_lacks(desk: Desk) -> None:
    ready = await in_progress(desk, **CLOSE_FIELDS)
    lacking = await in_progress(desk, cause="price")
    plain = (await desk.post("/api/v1/cases", {"subject": "x", "requester": REQUESTER, "queue": "IT"}))[
        "number"
    ]
    trail_before = len(await desk.audit(ready))
    body = {"numbers": [ready, lacking, plain], "changes": {"status": "closed", "assignee": "it@example.no"}}
    refused = (await desk.post("/api/v1/cases/bulk", body, expect=422))["detail"]
    assert refused["message"] == "no case changed: the case type refused 1 of 3"
    assert [(r["number"], r["missing"]) for r in refused["refused"]] == [(lacking, [CORRECTED])]
    for number in (ready, lacking):
        case = await desk.case(number)
        assert (case["status"], case["assignee"]) == ("in_progress", None)
    assert (await desk.case(plain))["status"] == "new"
    assert len(await desk.audit(ready)) == trail_before

    fixed = {"numbers": [lacking], "changes": {"fields": {"corrected_invoice_number": "F-9"}}}
    await desk.post("/api/v1/cases/bulk", fixed, expect=200)
    done = await desk.post("/api/v1/cases/bulk", body, expect=200)
    assert [(c["number"], c["status"], c["status_category"]) for c in done["items"]] == [
        (ready, "closed", "closed"),
        (lacking, "closed", "closed"),
        (plain, "closed", "closed"),
    ]


async def test_bulk_update_of_a_case_the_caller_does_not_see_answers_like_a_missing_one(desk: Desk) -> None:
    it_case = await desk.invoice_case(queue="IT")
    hr_case = await desk.invoice_case(queue="HR")
    agent = as_user(desk.users["it"])
    change = {"changes": {"assignee": "it@example.no"}}
    hidden = await desk.client.post(
        "/api/v1/cases/bulk", json={"numbers": [it_case, hr_case], **change}, headers=agent
    )
    missing = await desk.client.post(
        "/api/v1/cases/bulk", json={"numbers": [it_case, "99999"], **change}, headers=agent
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == {"message": "case not found", "numbers": [hr_case]}
    assert missing.json()["detail"] == {"message": "case not found", "numbers": ["99999"]}
    assert (await desk.case(it_case))["assignee"] is None and (await desk.case(hr_case))["assignee"] is None
    done = await desk.post("/api/v1/cases/bulk", {"numbers": [it_case], **change}, headers=agent, expect=200)
    assert done["items"][0]["assignee"] == "it@example.no"
    await desk.post("/api/v1/cases/bulk", {"numbers": [], **change}, expect=422)


# Mail


async def test_a_trusted_mail_cannot_close_past_the_gate(desk: Desk) -> None:
    number = await in_progress(desk, cause="vat")
    subject = f"SV: [Sak#{number}] Faktura"
    await desk.mail(subject=subject, text_body="Lukk saken", trusted_headers={"X-Allsak-Status": "closed"})
    await wait_for(lambda: len([a for a in desk.named("article_added") if a["number"] == number]) == 2)
    case = await desk.case(number)
    assert case["status"] == "in_progress"
    assert case["articles"][-1]["body_text"] == "Lukk saken"
    refused = [e for e in await desk.audit(number) if e["action"] == "change_refused"]
    assert refused[-1]["origin"] == "mail" and refused[-1]["new"]["missing"] == ["corrected_invoice_number"]

    headers = {"X-Allsak-Status": "closed", "X-Allsak-Field-Corrected-Invoice-Number": "F-1001-K"}
    await desk.mail(subject=subject, text_body="Kreditert", trusted_headers=headers)
    await wait_for(lambda: len([a for a in desk.named("article_added") if a["number"] == number]) == 3)
    closed = await desk.case(number)
    assert (closed["status"], closed["fields"]["corrected_invoice_number"]) == ("closed", "F-1001-K")


async def test_a_case_from_mail_is_registered_without_its_create_fields_then_asks_for_them(
    desk: Desk,
) -> None:
    await desk.mail(
        routing=Routing(type="wrong_invoice", queue="IT"), trusted_headers={"X-Allsak-Field-Amount": "12"}
    )
    await wait_for(lambda: len(desk.named("case_created")) == 1)
    number = desk.named("case_created")[0]["number"]
    case = await desk.case(number)
    assert (case["type"], case["status"], case["fields"]) == ("wrong_invoice", "received", {"amount": 12})

    refused = (await desk.patch(f"/api/v1/cases/{number}", {"assignee": "it@example.no"}, expect=422))[
        "detail"
    ]
    assert [m["key"] for m in refused["missing"]] == ["invoice_number"]
    reply = {"kind": "reply", "body_text": "Hvilket fakturanummer gjelder det?"}
    await desk.post(f"/api/v1/cases/{number}/articles", reply)
    after_reply = await desk.case(number)
    assert after_reply["status"] == "received" and len(after_reply["articles"]) == 2

    await desk.patch(f"/api/v1/cases/{number}", {"fields": {"invoice_number": "F-5"}})
    await desk.post(f"/api/v1/cases/{number}/articles", reply)
    assert (await desk.case(number))["status"] == "in_progress"


async def test_a_customer_reply_wakes_a_waiting_case_into_the_types_first_open_status(desk: Desk) -> None:
    number = await in_progress(desk)
    await desk.patch(f"/api/v1/cases/{number}", {"status": "waiting"})
    await desk.mail(subject=f"SV: [Sak#{number}] Faktura", text_body="Her er den")
    await wait_for(lambda: len([a for a in desk.named("article_added") if a["number"] == number]) == 2)
    case = await desk.case(number)
    assert (case["status"], case["status_category"]) == ("in_progress", "open")


# Templates


PHONE_TEMPLATE = {
    "key": "faktura-telefon",
    "labels": labels("Wrong invoice by phone", "Feil faktura på telefon"),
    "type": "wrong_invoice",
    "queue": "IT",
    "group": "it",
    "fields": {"cause": "price"},
    "subject": "Feil på faktura (telefon)",
    "body_text": "Kunden ringte om feil pris.",
}


async def test_a_template_registers_a_complete_case_from_the_requester_alone(desk: Desk) -> None:
    agent = as_user(desk.users["it"])
    await desk.post("/api/v1/templates", PHONE_TEMPLATE, headers=agent, expect=403)
    stored = await desk.post("/api/v1/templates", PHONE_TEMPLATE)
    assert (stored["channel"], stored["active"]) == ("phone", True)
    assert (await desk.get("/api/v1/templates", headers=agent))["items"][0]["key"] == "faktura-telefon"

    lacking = await desk.post(
        "/api/v1/cases/from-template/faktura-telefon", {"requester": REQUESTER}, headers=agent, expect=422
    )
    assert [m["key"] for m in lacking["detail"]["missing"]] == ["invoice_number"]

    body = {"requester": {"email": "ola@kunde.no"}, "fields": {"invoice_number": "F-77"}}
    case = await desk.post("/api/v1/cases/from-template/faktura-telefon", body, headers=agent)
    assert {k: case[k] for k in ("subject", "type", "queue", "group", "channel", "template", "status")} == {
        "subject": "Feil på faktura (telefon)",
        "type": "wrong_invoice",
        "queue": "IT",
        "group": "it",
        "channel": "phone",
        "template": "faktura-telefon",
        "status": "received",
    }
    assert case["fields"] == {"cause": "price", "invoice_number": "F-77"}
    assert case["requester"]["email"] == "ola@kunde.no"
    detail = await desk.case(case["number"])
    assert (detail["articles"][0]["kind"], detail["articles"][0]["body_text"]) == (
        "phone",
        "Kunden ringte om feil pris.",
    )

    await desk.patch(
        "/api/v1/templates/faktura-telefon", {"fields": {"cause": "price", "invoice_number": "F-0"}}
    )
    quick = await desk.post(
        "/api/v1/cases/from-template/faktura-telefon", {"requester": REQUESTER}, headers=agent
    )
    assert quick["fields"]["invoice_number"] == "F-0"
    await desk.patch("/api/v1/templates/faktura-telefon", {"active": False})
    inactive = await desk.post(
        "/api/v1/cases/from-template/faktura-telefon", {"requester": REQUESTER}, expect=422
    )
    assert inactive["detail"]["invalid"][0]["field"] == "template"
    await desk.post("/api/v1/cases/from-template/nope", {"requester": REQUESTER}, expect=404)


async def test_a_template_must_fit_its_case_type(desk: Desk) -> None:
    await desk.post("/api/v1/case-types", ITIL_TYPE)
    bad = {
        **PHONE_TEMPLATE,
        "key": "bad",
        "queue": "Nowhere",
        "group": "nobody",
        "fields": {"cause": "weather", "colour": "red"},
    }
    detail = (await desk.post("/api/v1/templates", bad, expect=422))["detail"]
    assert {tuple(e["loc"][1:]) for e in detail} == {
        ("fields", "cause"),
        ("fields", "colour"),
        ("queue",),
        ("group",),
    }
    matrix = {"key": "nett", "labels": labels("Net", "Nett"), "type": "itil_incident", "priority": "high"}
    assert (await desk.post("/api/v1/templates", matrix, expect=422))["detail"][0]["loc"] == [
        "body",
        "priority",
    ]
    del matrix["priority"]
    made = await desk.post(
        "/api/v1/templates", {**matrix, "impact": "high", "urgency": "high", "subject": "Nettet"}
    )
    case = await desk.post("/api/v1/cases/from-template/nett", {"requester": REQUESTER})
    assert (made["key"], case["priority"], case["template"]) == ("nett", "critical", "nett")
    await desk.post("/api/v1/templates", {**matrix, "key": "tom"})
    no_subject = await desk.post("/api/v1/cases/from-template/tom", {"requester": REQUESTER}, expect=422)
    assert no_subject["detail"]["invalid"][0]["field"] == "subject"


async def test_a_template_named_like_a_case_route_is_not_swallowed_by_it(desk: Desk) -> None:
    await desk.post(
        "/api/v1/templates", {**PHONE_TEMPLATE, "key": "merge", "fields": {"invoice_number": "F-1"}}
    )
    case = await desk.post("/api/v1/cases/from-template/merge", {"requester": REQUESTER})
    assert case["template"] == "merge"


# Merge


async def test_a_merge_closes_the_duplicate_without_its_close_fields(desk: Desk) -> None:
    survivor = await in_progress(desk)
    duplicate = await in_progress(desk)
    merged = await desk.post(f"/api/v1/cases/{duplicate}/merge", {"into": survivor}, expect=200)
    assert merged["into"] == survivor
    case = await desk.case(duplicate)
    assert (case["status"], case["status_category"]) == ("closed", "closed")
    assert (await desk.case(survivor))["status"] == "in_progress"
    refused = (await desk.patch(f"/api/v1/cases/{survivor}", {"status": "closed"}, expect=422))["detail"]
    assert [m["key"] for m in refused["missing"]] == ["cause", "corrected_invoice_number"]


async def test_a_merge_respects_the_types_transitions(desk: Desk) -> None:
    survivor = await desk.invoice_case()
    received = await desk.invoice_case()
    refused = await desk.post(f"/api/v1/cases/{received}/merge", {"into": survivor}, expect=422)
    assert "cannot be closed as a duplicate" in refused["detail"]
    case = await desk.case(received)
    assert case["status"] == "received" and len(case["articles"]) == 1
