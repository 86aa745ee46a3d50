"""Case queries at 10,000 and 1,000,000 cases on PostgreSQL: what an agent waits for.

    .venv/bin/python tests/bench/case_queries.py [--sizes 10000,1000000] [--repeat 50]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres] [--keep] [--explain]

Per size, a fresh database on the server of ``--database-url`` (default: the tests' PostgreSQL,
``ALLSAK_TEST_PG_*``) is migrated to head, so the schema and its full-text indexes are the real
ones, and filled server-side (``INSERT … SELECT`` over ``generate_series``) by ``generate``:
eight departments with their groups, queues and agents; organisations and customers; cases over
two years (mostly closed; the open ones mostly recent) with 1–3 articles of bokmål and English
desk text from a Zipf-distributed vocabulary, and rare words planted in one case per group. The
indexes that back no constraint are dropped for the load and recreated from their own
definitions after it (maintaining GIN indexes row by row would take hours); then VACUUM ANALYZE.

``measure`` then asks the cases app, in-process over ASGI with agents' identity headers (so access
filtering, serialisation and the real queries are what is timed), ``--repeat`` times for each
query, parameters varied, after a warm-up, and the table gives p50/p95/p99 and mean in ms per
size. ``--explain`` prints EXPLAIN (ANALYZE, BUFFERS) of each query's slowest statement.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import random
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.cases.app import MIGRATIONS, create_app  # noqa: E402
from services.cases.models import Base  # noqa: E402
from services.cases.settings import Settings  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.runtime import Runtime  # noqa: E402
from tests.support.servers import PG_HOST, PG_PORT, PG_USER  # noqa: E402

DEFAULT_SERVER = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
FIRST_NUMBER = 10001
DAYS, RECENT_DAYS = 730, 30
AGENTS_PER_GROUP = 3
POOL = 4096  # texts per (kind, language) drawn from
SAMPLE = 3000  # cases looked up to draw request parameters from
# (group, ((queue, % of all cases), ...), case types)
DEPARTMENTS = (
    (
        "it",
        (("IT-Support", 28), ("IT-Drift", 9), ("IT-Tilgang", 8)),
        ("incident", "service_request", "change"),
    ),
    ("hr", (("HR", 5), ("HR-Lonn", 3)), ("leave_application", "parental_leave", "onboarding")),
    ("facilities", (("Fasiliteter", 6), ("Renhold", 2)), ("replace_light_tube", "adjust_temperature")),
    ("finance", (("Faktura", 8), ("Regnskap", 3)), ("wrong_invoice", "wrong_salary_payment")),
    ("sales", (("Salg", 4),), ("quote_request", "extension")),
    ("procurement", (("Innkjop", 3),), ("tender_follow_up", "chase_delivery")),
    ("hse", (("HMS", 3), ("HMS-Avvik", 2)), ("deviation", "fire_incident", "hazardous_waste")),
    ("customer_service", (("Kundeservice", 12), ("Reklamasjon", 4)), ("complaint", "information_request")),
)
# Cumulative shares in % of a draw in [0, 100): statuses of recent and of older cases, and so on.
RECENT = "new 15, open 45, waiting_for_customer 55, waiting_for_third_party 60, resolved 75"
OLDER = "new 0.2, open 1.2, waiting_for_customer 1.7, waiting_for_third_party 2, resolved 3"
PRIORITIES, CHANNELS = "low 20, normal 80, high 95", "mail 55, portal 80, phone 95"
DONE = ("resolved", "closed")
RARE_WORDS = ("kvantefluks", "fluxkondensator", "plasmabrødrister", "zebrakompressor")
FIRST_NAMES = (
    "Kari Ola Ingrid Per Nora Jonas Sofie Lars Emma Ahmed Fatima Anne Bjørn Siri Mohammed Liv".split()
)
LAST_NAMES = "Nordmann Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Berg Haugen Bakke Dahl".split()
# Rank order: the first words are the common ones (and those the common-word search looks for).
NB_WORDS = (
    "skriveren passordet tilgangen pc-en e-posten kontoen nettverket telefonen lisensen møterommet fakturaen "
    "lønna skjermen serveren vpn programmet mappen rapporten avtalen tastaturet kontoret adgangskortet ferien "
    "permisjonen lyset ventilasjonen temperaturen stolen pulten bestillingen leveransen tilbudet kontrakten "
    "reklamasjonen returen avviket brannalarmen avfallet timelista reiseregningen utlegget kvitteringen budsjettet "
    "leverandøren ordren oppdateringen viruset sikkerhetskopien teams outlook mobilen laderen kabelen headsettet "
    "kameraet wifi ruteren brannmuren sertifikatet kalenderen innloggingen tofaktor appen nettleseren portalen"
).split()
EN_WORDS = (
    "printer password access laptop email account network phone licence invoice salary screen server vpn software "
    "folder report contract keyboard office badge leave light ventilation temperature chair desk order delivery "
    "quote complaint return deviation alarm waste timesheet expense receipt budget supplier update virus backup "
    "teams outlook mobile charger cable headset camera wifi router firewall certificate calendar login app browser"
).split()
COMMON_WORDS = ("skriveren", "passordet", "printer", "password")
PREFIXES = "skriver nett lønns faktura tilgangs kontor server lisens bruker sikkerhets avviks brann reise innkjøps lager".split()
SUFFIXES = (
    "feil kø modul avtale nøkkel oppsett varsel driver sperre skjema liste rutine tjeneste logg kort".split()
)
PLACES = "Oslo Bergen Trondheim Stavanger Tromsø Bodø resepsjonen lageret kantina 3.etasje".split()
# Per kind and language, the texts' shapes: {a} and {b} are drawn from the vocabulary, {p} is a place.
TEMPLATES = """
subject nb: {A} virker ikke | Problem med {a} | Bestilling av {a} | Spørsmål om {a} og {b} | Feil på {a} i {p}
subject en: {A} not working | Problem with {a} | Request: new {a} | Question about {a} and {b} | {A} broken in {p}
body nb: Hei, {a} virker ikke etter {b}. | Vi har problemer med {a} og {b} siden i går. | Kan dere se på {a}? \
    Det gjelder {b} i {p}. | Jeg får feilmelding om {a} når jeg åpner {b}. | {A} er treg, og {b} henger hele \
    tiden. | Saken gjelder {a} for {b}, se skjermbilde. | Hvordan bestiller jeg ny {a}? | Takk, {a} virker nå.
body en: Hi, the {a} stopped working after the {b}. | We have had issues with {a} and {b} since yesterday. | \
    Could you look at the {a}? It is about {b} in {p}. | I get an error about {a} when I open {b}. | The {a} \
    is slow and the {b} keeps freezing. | How do I order a new {a}? | Thanks, the {a} works again now.
reply nb: Hei, vi har byttet {a} og startet {b} på nytt. Gi beskjed om det fortsatt ikke virker. | Vi har \
    oppdatert {a}; {b} skal nå fungere igjen. | {A} er bestilt og leveres i {p}.
reply en: Hi, we replaced the {a} and restarted the {b}. Let us know if it still fails. | We updated the {a}; \
    the {b} should work again now. | The {a} is ordered and delivered to {p}.
"""
KINDS = ("subject", "body", "reply")
QUEUE_VIEW, PRIORITY = "queue view (status category)", "list: status+queue+priority"
REQUESTER = "list: status+queue+requester"
RARE, COMMON, SIMILAR = "search: rare word", "search: common word", "similar cases"
QUERIES = (QUEUE_VIEW, PRIORITY, REQUESTER, RARE, COMMON, SIMILAR)


@dataclass(frozen=True)
class Agent:
    id: str
    group: str
    queues: tuple[str, ...]


@dataclass
class Generated:
    cases: int
    counts: dict[str, int]
    agents: list[Agent]
    seconds: dict[str, float]
    database_bytes: int


@dataclass
class Timing:
    ms: list[float] = field(default_factory=list)
    results: list[int] = field(default_factory=list)
    plan: str = ""


def uid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "bench:" + ":".join(map(str, parts))))


def vocabulary(lang: str) -> list[str]:
    """Real words first, then a long tail of compounds and host names: Zipf gives them 1/rank."""
    tail = [p + s for p in PREFIXES for s in SUFFIXES] if lang == "nb" else []
    return [*(NB_WORDS if lang == "nb" else EN_WORDS), *tail, *(f"srv{n:03d}" for n in range(400))]


def text_pool(seed: int) -> list[str]:
    """``POOL`` texts per kind and language; id = (kind * 2 + language) * POOL + n."""
    rng, texts, shapes = random.Random(seed), [], templates()
    for kind in KINDS:
        for lang in ("nb", "en"):
            words = vocabulary(lang)
            cum = list(itertools.accumulate(1 / r for r in range(1, len(words) + 1)))
            for _ in range(POOL):
                a, b = rng.choices(words, cum_weights=cum, k=2)
                line = rng.choice(shapes[kind, lang]).format(a=a, A=a.capitalize(), b=b, p=rng.choice(PLACES))
                texts.append(line)
    return texts


def templates() -> dict[tuple[str, str], list[str]]:
    """TEMPLATES by (kind, language); a line's backslash-newline has joined its continuation."""
    found: dict[tuple[str, str], list[str]] = {}
    for line in TEMPLATES.strip().splitlines():
        head, shapes = line.split(": ", 1)
        kind, lang = head.split()
        found[kind, lang] = [" ".join(shape.split()) for shape in shapes.split(" | ")]
    return found


def pick(shares: str, draw: str, last: str) -> str:
    """SQL choosing by cumulative shares in % of ``draw`` (in [0, 100)); ``last`` takes the rest."""
    cases = (
        f"WHEN {draw} < {share} THEN '{value}'" for value, share in (x.split() for x in shares.split(","))
    )
    return f"CASE {' '.join(cases)} ELSE '{last}' END"


def draw(expr: str, salt: int) -> str:
    return f"(pg_temp.h({expr}, {salt}) % 10000 / 100.0)"


def pooled(kind: int, lang: str, key: str, salt: int) -> str:
    return f"(SELECT t FROM bench_text WHERE id = ({kind} * 2 + {lang}) * {POOL} + pg_temp.h({key}, {salt}) % {POOL})"


SETUP = [
    "SET maintenance_work_mem = '1GB'",
    "CREATE FUNCTION pg_temp.h(x bigint, salt int) RETURNS bigint LANGUAGE sql IMMUTABLE "
    "AS $$ SELECT (hashint8(x * 1000 + salt) & 2147483647)::bigint $$",
    "CREATE TEMP TABLE bench_text (id int PRIMARY KEY, t text NOT NULL)",
    "CREATE TEMP TABLE bench_slot (slot int PRIMARY KEY, queue text, grp text, types text[], agents text[])",
]
DIRECTORY = [
    'INSERT INTO "group" (id, key, name, created_at) SELECT x.id, x.key, x.key, :at '
    "FROM unnest(CAST(:group_ids AS text[]), CAST(:group_keys AS text[])) AS x(id, key)",
    "INSERT INTO queue (id, key, name, group_id, active, created_at) SELECT x.id, x.key, x.key, x.grp, true, :at "
    "FROM unnest(CAST(:queue_ids AS text[]), CAST(:queue_keys AS text[]), CAST(:queue_groups AS text[])) AS x(id, key, grp)",
    'INSERT INTO "user" (id, email, name, role, active, available, created_at, updated_at) '
    "SELECT x.id, x.email, x.email, 'agent', true, true, :at, :at "
    "FROM unnest(CAST(:user_ids AS text[]), CAST(:user_emails AS text[])) AS x(id, email)",
    "INSERT INTO group_member (group_id, user_id, created_at) SELECT x.grp, x.usr, :at "
    "FROM unnest(CAST(:member_groups AS text[]), CAST(:user_ids AS text[])) AS x(grp, usr)",
    "INSERT INTO bench_text (id, t) SELECT * FROM unnest(CAST(:text_ids AS int[]), CAST(:texts AS text[]))",
]
PEOPLE = [
    "INSERT INTO organisation (id, name, domains, created_at) "
    "SELECT md5('org' || o)::uuid::text, 'Organisasjon ' || o || ' AS', json_build_array('org' || o || '.example.no'), :at "
    "FROM generate_series(0, :organisations - 1) AS o",
    "INSERT INTO customer (id, email, name, organisation_id, created_at) "
    "SELECT md5('customer' || k)::uuid::text, 'kunde' || k || '@org' || k % :organisations || '.example.no', "
    "(CAST(:first_names AS text[]))[1 + pg_temp.h(k, 1) % cardinality(CAST(:first_names AS text[]))] || ' ' || "
    "(CAST(:last_names AS text[]))[1 + pg_temp.h(k, 2) % cardinality(CAST(:last_names AS text[]))], "
    "md5('org' || k % :organisations)::uuid::text, :at FROM generate_series(0, :customers - 1) AS k",
    "INSERT INTO customer_address (email, customer_id, created_at) SELECT email, id, created_at FROM customer",
]
CASES = f"""
INSERT INTO "case" (id, number, subject, status, status_category, type, queue, "group", priority, impact, urgency,
    channel, requester_id, assignee, created_at, updated_at, closed_at, sla_first_response_due_at, sla_resolution_due_at)
SELECT md5('case' || s.i)::uuid::text, {FIRST_NUMBER} + s.i, {pooled(0, "s.lang", "s.i", 3)}, s.status, s.status,
    q.types[1 + pg_temp.h(s.i, 4) % cardinality(q.types)], q.queue, q.grp, s.priority,
    CASE WHEN q.grp = 'it' THEN (ARRAY['low', 'medium', 'high'])[1 + pg_temp.h(s.i, 5) % 3] END,
    CASE WHEN q.grp = 'it' THEN (ARRAY['low', 'medium', 'high'])[1 + pg_temp.h(s.i, 6) % 3] END,
    s.channel, md5('customer' || s.customer)::uuid::text,
    CASE WHEN s.status <> 'new' THEN q.agents[1 + pg_temp.h(s.i, 7) % cardinality(q.agents)] END,
    s.created_at, s.created_at + interval '2 hours',
    CASE WHEN s.status = 'closed' THEN least(s.created_at + interval '3 days', now()) END,
    s.created_at + interval '4 hours', s.created_at + interval '3 days'
FROM (
    SELECT i, (pg_temp.h(i, 8) % 10 >= 7)::int AS lang,
        CAST(:start AS timestamptz) + make_interval(secs => (i + 0.5) * {DAYS * 86400} / :cases) AS created_at,
        CASE WHEN i >= :cases - :cases * {RECENT_DAYS} / {DAYS} THEN {pick(RECENT, draw("i", 9), "closed")}
             ELSE {pick(OLDER, draw("i", 9), "closed")} END AS status,
        {pick(PRIORITIES, draw("i", 10), "critical")} AS priority,
        {pick(CHANNELS, draw("i", 11), "api")} AS channel,
        -- A fifth of the cases come from the busiest hundredth of the customers.
        CASE WHEN pg_temp.h(i, 12) % 5 = 0 THEN pg_temp.h(i, 13) % greatest(1, :customers / 100)
             ELSE pg_temp.h(i, 13) % :customers END AS customer
    FROM generate_series(0, :cases - 1) AS i
) AS s JOIN bench_slot q ON q.slot = pg_temp.h(s.i, 14) % 100
"""
ARTICLES = f"""
INSERT INTO article (id, seq, case_id, kind, internal, channel, from_email, from_name, subject, body_text, created_at)
SELECT md5('article' || c.number || '-' || k)::uuid::text, k, c.id,
    CASE WHEN k = 2 THEN 'reply' WHEN k = 3 AND NOT c.done THEN 'note' WHEN c.channel = 'mail' THEN 'mail_in'
         WHEN c.channel = 'phone' THEN 'phone' ELSE 'web' END,
    k = 3 AND NOT c.done, CASE WHEN k = 1 THEN c.channel ELSE 'mail' END,
    CASE WHEN k = 1 OR k = 3 AND c.done THEN c.email ELSE coalesce(c.assignee, 'desk@bench.example.no') END,
    CASE WHEN k = 1 OR k = 3 AND c.done THEN c.name END,
    CASE WHEN k = 1 THEN c.subject ELSE 'Re: ' || c.subject END,
    CASE WHEN k = 2 THEN {pooled(2, "c.lang", "c.number * 4 + k", 15)}
         ELSE concat_ws(' ', {pooled(1, "c.lang", "c.number * 4 + k", 16)}, {pooled(1, "c.lang", "c.number * 4 + k", 17)},
             CASE WHEN pg_temp.h(c.number * 4 + k, 18) % 3 > 0 THEN {pooled(1, "c.lang", "c.number * 4 + k", 19)} END,
             CASE WHEN pg_temp.h(c.number * 4 + k, 18) % 3 > 1 THEN {pooled(1, "c.lang", "c.number * 4 + k", 20)} END)
    END,
    c.created_at + (k - 1) * interval '5 hours'
FROM (
    SELECT c.*, cu.email, cu.name, c.status_category IN ('resolved', 'closed') AS done,
        (pg_temp.h(c.number - {FIRST_NUMBER}, 8) % 10 >= 7)::int AS lang
    FROM "case" c JOIN customer cu ON cu.id = c.requester_id
) AS c CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.h(c.number, 21) % 3) AS k
"""
# Each rare word goes into the first article of one case of every group (a different case each).
PLANT = """
UPDATE article a SET body_text = a.body_text || ' ' || (CAST(:words AS text[]))[chosen.n]
FROM (SELECT id, row_number() OVER (PARTITION BY "group" ORDER BY pg_temp.h(number, 100)) AS n FROM "case") AS chosen
WHERE chosen.n <= cardinality(CAST(:words AS text[])) AND a.case_id = chosen.id AND a.seq = 1
"""
SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes i
WHERE schemaname = current_schema() AND tablename = ANY(CAST(:tables AS text[])) AND NOT EXISTS (
    SELECT 1 FROM pg_constraint c WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)
"""
COUNTER = "INSERT INTO counter (name, value) VALUES ('case', :last) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
RARE_CASES = "SELECT count(DISTINCT case_id) FROM article WHERE body_text LIKE ANY(CAST(:p AS text[]))"
LOADED = ("organisation", "customer", "customer_address", "case", "article")


Slot = tuple[int, str, str, list[str], list[str]]  # slot, queue, group, case types, agents' emails


def directory() -> tuple[dict[str, Any], list[Agent], list[Slot]]:
    """Groups, queues and agents of the departments, and the 100 slots that spread cases over queues."""
    keys = "group_ids group_keys queue_ids queue_keys queue_groups user_ids user_emails member_groups"
    params: dict[str, list[str]] = {key: [] for key in keys.split()}
    agents: list[Agent] = []
    slots: list[Slot] = []
    for group, queues, types in DEPARTMENTS:
        params["group_ids"].append(uid("group", group))
        params["group_keys"].append(group)
        emails = [f"{group}.agent{j}@bench.example.no" for j in range(AGENTS_PER_GROUP)]
        for email in emails:
            params["user_ids"].append(uid("user", email))
            params["user_emails"].append(email)
            params["member_groups"].append(uid("group", group))
            agents.append(Agent(uid("user", email), group, tuple(q for q, _ in queues)))
        for queue, share in queues:
            params["queue_ids"].append(uid("queue", queue))
            params["queue_keys"].append(queue)
            params["queue_groups"].append(uid("group", group))
            slots += [(len(slots) + k, queue, group, list(types), emails) for k in range(share)]
    assert len(slots) == 100, "queue shares must add up to 100 %"
    # Agents of different groups take turns, so consecutive requests differ in what they see.
    turns = [a for j in range(AGENTS_PER_GROUP) for a in agents[j::AGENTS_PER_GROUP]]
    return params, turns, slots


async def generate(url: str, cases: int, *, seed: int = 1) -> Generated:
    """Migrate the (empty) database at ``url`` and fill it with ``cases`` cases, server-side."""
    started = time.perf_counter()
    db = Database(url, Base.metadata)
    try:
        await upgrade(db, MIGRATIONS, service="cases")
    finally:
        await db.dispose()
    seconds = {"migrate": time.perf_counter() - started}
    params, agents, slots = directory()
    texts = text_pool(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    values = dict(
        params,
        at=now - timedelta(days=DAYS + 1),
        start=now - timedelta(days=DAYS),
        cases=cases,
        last=FIRST_NUMBER + cases - 1,
        organisations=max(5, cases // 500),
        customers=max(50, cases // 8),
        words=list(RARE_WORDS),
        first_names=FIRST_NAMES,
        last_names=LAST_NAMES,
        text_ids=list(range(len(texts))),
        texts=texts,
    )
    async with autocommit(url) as conn:
        for statement in SETUP:
            await conn.execute(text(statement))
        rows = [dict(zip("sqgta", slot, strict=True)) for slot in slots]
        await conn.execute(text("INSERT INTO bench_slot VALUES (:s, :q, :g, :t, :a)"), rows)
        indexes = (await conn.execute(text(SECONDARY_INDEXES), {"tables": list(LOADED)})).all()
        for name, _ in indexes:
            await conn.execute(text(f'DROP INDEX "{name}"'))
        steps = {
            "load": [*DIRECTORY, *PEOPLE, CASES, ARTICLES, PLANT, COUNTER],
            "indexes": [definition for _, definition in indexes],
            "vacuum analyze": ["VACUUM (ANALYZE)"],
        }
        for step, statements in steps.items():
            begun = time.perf_counter()
            for statement in statements:
                await conn.execute(text(statement), {k: v for k, v in values.items() if f":{k}" in statement})
            seconds[step] = time.perf_counter() - begun
        counts = {t: int(await conn.scalar(text(f'SELECT count(*) FROM "{t}"')) or 0) for t in LOADED}
        planted = {"p": [f"% {w}" for w in RARE_WORDS]}
        counts["rare-word cases"] = int(await conn.scalar(text(RARE_CASES), planted) or 0)
        size = int(await conn.scalar(text("SELECT pg_database_size(current_database())")) or 0)
    seconds["total"] = time.perf_counter() - started
    return Generated(cases, counts, agents, seconds, size)


@contextlib.asynccontextmanager
async def autocommit(url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Sample:
    number: int
    queue: str
    status: str
    priority: str
    requester: str


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    agent: Agent

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Allsak-User": self.agent.id, "X-Allsak-Role": "agent"}


async def samples(url: str, generated: Generated, rng: random.Random) -> list[Sample]:
    numbers = range(FIRST_NUMBER, FIRST_NUMBER + generated.cases)
    chosen = rng.sample(numbers, min(SAMPLE, len(numbers)))
    async with autocommit(url) as conn:
        rows = await conn.execute(
            text(
                'SELECT c.number, c.queue, c.status, c.priority, cu.email FROM "case" c JOIN customer cu '
                "ON cu.id = c.requester_id WHERE c.number = ANY(CAST(:n AS int[])) ORDER BY c.number"
            ),
            {"n": chosen},
        )
        return [Sample(*row) for row in rows]


def requests(
    found: list[Sample], agents: list[Agent], repeat: int, rng: random.Random
) -> dict[str, list[Request]]:
    """``repeat`` requests per query, each as the next agent, with parameters drawn from cases it sees
    (so that each has an answer): statuses of every kind, not just the common ones."""
    views = {a: [s for s in found if s.queue in a.queues] for a in agents}
    turns = [a for a in agents if views[a]]
    plans: dict[str, list[Request]] = {name: [] for name in QUERIES}
    for i in range(repeat):
        agent = turns[i % len(turns)]
        seen = views[agent]
        working = [s for s in seen if s.status not in DONE] or seen
        plans[QUEUE_VIEW].append(
            Request("/api/v1/cases", {"status_category": rng.choice(working).status}, agent)
        )
        status = rng.choice(sorted({s.status for s in seen}))
        one = rng.choice([s for s in seen if s.status == status])
        query = {"status": one.status, "queue": one.queue, "priority": one.priority}
        plans[PRIORITY].append(Request("/api/v1/cases", query, agent))
        one = rng.choice(seen)
        query = {"status": one.status, "queue": one.queue, "requester": one.requester}
        plans[REQUESTER].append(Request("/api/v1/cases", query, agent))
        words = {RARE: RARE_WORDS[i % len(RARE_WORDS)], COMMON: COMMON_WORDS[i % len(COMMON_WORDS)]}
        for name, word in words.items():
            plans[name].append(Request("/api/v1/search", {"q": word, "kind": "case"}, agent))
        plans[SIMILAR].append(Request(f"/api/v1/cases/{rng.choice(seen).number}/similar", {}, agent))
    return plans


def check(request: Request, items: list[dict[str, Any]]) -> None:
    """What a list answers must match its filters, and cases must be in the agent's queues: a filter
    the service ignored would otherwise make a fast and wrong figure."""
    for item in items:
        if "queue" in item:
            assert item["queue"] in request.agent.queues, (request, item["queue"])
        for key, wanted in request.query.items():
            got = item["requester"]["email"] if key == "requester" else item.get(key, wanted)
            assert got == wanted, f"{request.path} {request.query}: {key} {got!r}"


async def measure(
    url: str, generated: Generated, repeat: int, *, explain: bool = False, seed: int = 7, warmup: int = 3
) -> dict[str, Timing]:
    """Time each query through the cases app as agents; with ``explain``, plan the slowest request's
    slowest statement."""
    rng = random.Random(seed)
    plans = requests(await samples(url, generated, rng), generated.agents, repeat + warmup, rng)
    timings = {name: Timing() for name in QUERIES}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=url, log_json=False)
        async with Runtime.embedded(data_dir=Path(tmp)) as runtime:
            app = create_app(settings, runtime)
            transport = httpx.ASGITransport(app=app)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://cases", timeout=600) as client,
            ):
                for i in range(repeat + warmup):  # round robin: drift in the machine hits every query alike
                    for name in QUERIES:
                        request = plans[name][i]
                        started = time.perf_counter()
                        response = await client.get(
                            request.path, params=request.query, headers=request.headers
                        )
                        elapsed = (time.perf_counter() - started) * 1000
                        assert response.status_code == 200, f"{name}: {response.status_code} {response.text}"
                        check(request, response.json()["items"])
                        if i >= warmup:
                            timings[name].ms.append(elapsed)
                            timings[name].results.append(len(response.json()["items"]))
                if explain:
                    engine: AsyncEngine = app.state.ctx.db.engine
                    for name, timing in timings.items():
                        slowest = plans[name][warmup + timing.ms.index(max(timing.ms))]
                        timing.plan = await slowest_plan(engine, client, slowest)
    return timings


@contextlib.contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[tuple[float, str, Any]]]:
    """The statements run on ``engine`` meanwhile: (ms, SQL, parameters)."""
    found: list[tuple[float, str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        found.append(((time.perf_counter() - conn.info.pop("bench_started")) * 1000, statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        yield found
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine, "after_cursor_execute", after)


async def slowest_plan(engine: AsyncEngine, client: httpx.AsyncClient, request: Request) -> str:
    with statements(engine) as found:
        await client.get(request.path, params=request.query, headers=request.headers)
    ms, statement, parameters = max(found, key=lambda f: f[0])
    async with engine.connect() as conn:
        rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        plan = "\n".join(f"    {row[0]}" for row in rows)
    return f"  {request.path} {request.query} as {request.agent.group} — slowest statement {ms:.1f} ms, parameters {parameters}:\n    {statement}\n{plan}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def report(results: list[tuple[Generated, dict[str, Timing]]], repeat: int) -> None:
    print(f"\ncase_queries: ms per request as an agent, in-process over ASGI, {repeat} requests each")
    print(f"{'':32}" + "".join(f"{f'{g.cases:,} cases':>42}" for g, _ in results))
    print(f"{'query':32}" + f"{'p50':>8}{'p95':>8}{'p99':>8}{'mean':>8}{'items':>10}" * len(results))
    for name in QUERIES:
        row = f"{name:32}"
        for _, timings in results:
            t = timings[name]
            row += "".join(f"{percentile(t.ms, p):8.1f}" for p in (50, 95, 99))
            row += f"{sum(t.ms) / len(t.ms):8.1f}{sum(t.results) / len(t.results):10.1f}"
        print(row)
    for g, _ in results:
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in g.seconds.items() if k != "total")
        print(
            f"\n{g.cases:,} cases: generated in {g.seconds['total']:.1f} s ({steps}); "
            f"database {g.database_bytes / 2**20:,.0f} MiB; "
            + ", ".join(f"{k} {v:,}" for k, v in g.counts.items())
        )


async def run(server: str, sizes: list[int], repeat: int, *, keep: bool, explain: bool) -> None:
    results = []
    for size in sizes:
        name = f"allsak_bench_{size}_{uuid.uuid4().hex[:8]}"
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        async with autocommit(server) as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            print(f"{size:,} cases: generating in {name} …", flush=True)
            generated = await generate(url, size)
            print(f"{size:,} cases: generated in {generated.seconds['total']:.1f} s; measuring …", flush=True)
            timings = await measure(url, generated, repeat, explain=explain)
            results.append((generated, timings))
            for query, timing in timings.items():
                if timing.plan:
                    print(f"\nEXPLAIN at {size:,} cases, {query}:\n{timing.plan}")
        finally:
            if keep:
                print(f"kept {url}")
            else:
                async with autocommit(server) as conn:
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    report(results, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,1000000", help="numbers of cases, comma-separated")
    parser.add_argument("--repeat", type=int, default=50, help="measured requests per query and size")
    parser.add_argument(
        "--database-url", default=DEFAULT_SERVER, help="a database on the PostgreSQL server to use"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated databases")
    parser.add_argument(
        "--explain", action="store_true", help="print the plan of each query's slowest statement"
    )
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    asyncio.run(run(args.database_url, sizes, args.repeat, keep=args.keep, explain=args.explain))


if __name__ == "__main__":
    main()
