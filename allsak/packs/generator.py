"""Demo cases of a pack: a few dozen per department over the last six months, each told as the
old-desk import takes it (``POST /api/v1/cases/import``): registered, picked up, perhaps a
question and an answer, solved, closed — each step at its own time.

The pack's scenarios give subjects, texts and replies with placeholders (``{room}``,
``{invoice}``, ``{first_name}``…) filled from its word lists, so search finds a word in many
cases worded differently. A random generator seeded by the pack key picks everything: the same
pack gives the same cases, and their times follow the moment they are generated for.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from allsak.packs import Pack

OSLO = ZoneInfo("Europe/Oslo")
DAYS = 182
# The steps stop this long before "now": the server's clock may be a little behind ours.
MARGIN = timedelta(minutes=15)
# Most cases are done; the rest are recent and still being worked.
OUTCOMES = {"closed": 80, "resolved": 5, "waiting": 6, "open": 6, "new": 3}
RECENT_DAYS = {"resolved": 14, "waiting": 40, "open": 40, "new": 5}
MONTHS = {
    "nb": "januar februar mars april mai juni juli august september oktober november desember".split(),
    "en": "January February March April May June July August September October November December".split(),
}


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    lang: str = "nb"

    @property
    def first_name(self) -> str:
        return self.name.split()[0]

    def json(self) -> dict[str, str]:
        return {"email": self.email, "name": self.name}


class MissingWord(KeyError):
    """A text names a placeholder that no word list of the pack fills."""


class _Words(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise MissingWord(f"placeholder {{{key}}} has no word list in the pack")


def demo_cases(
    pack: Pack, *, requesters: Sequence[Person], agents: Mapping[str, Sequence[Person]], now: datetime
) -> list[dict[str, Any]]:
    """The pack's demo cases as import bodies, oldest first; ``agents`` by queue key."""
    demo = pack.get("demo") or {}
    if not demo.get("cases"):
        return []
    rng = random.Random(f"allsak-demo-{pack['key']}")
    scenarios = demo["scenarios"]
    weights = [s.get("weight", 1) for s in scenarios]
    cases = []
    for index in range(int(demo["cases"])):
        scenario = rng.choices(scenarios, weights)[0]
        story = _Story(rng, pack, scenario, now=now)
        cases.append(story.tell(f"demo-{pack['key']}-{index + 1:04d}", requesters, agents))
    return sorted(cases, key=lambda case: case["created_at"])


class _Story:
    """One case's life, step by step, in the scenario's language."""

    def __init__(self, rng: random.Random, pack: Pack, scenario: Mapping[str, Any], *, now: datetime) -> None:
        self.rng = rng
        self.pack = pack
        self.scenario = scenario
        self.now = now
        self.lang = scenario.get("lang", "nb")
        self.outcome = rng.choices(list(OUTCOMES), list(OUTCOMES.values()))[0]
        self.words = _Words()
        self.articles: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []

    def tell(
        self, external_id: str, requesters: Sequence[Person], agents: Mapping[str, Sequence[Person]]
    ) -> dict[str, Any]:
        demo, scenario = self.pack["demo"], self.scenario
        queue = scenario.get("queue") or demo["queue"]
        requester = self._pick_requester(requesters)
        agent = self.rng.choice(list(agents.get(queue) or [Person("", "Servicedesk")]))
        created = self._created_at()
        self._fill_words(requester, agent, created)
        case: dict[str, Any] = {
            "external_id": external_id,
            "subject": self._text(scenario["subject"]),
            "requester": requester.json(),
            "created_at": created.isoformat(),
            "body_text": self._text(scenario["body"]),
            "channel": self.rng.choice(scenario.get("channels", ["mail"])),
            "queue": queue,
            "type": scenario["type"],
            "fields": {k: self._fill(self._one(v)) for k, v in scenario.get("fields", {}).items()},
        }
        # A type with a priority matrix takes impact and urgency; the others a priority.
        for name in ("priority", "impact", "urgency"):
            if name in scenario:
                case[name] = self.rng.choice(scenario[name])
        if self.outcome != "new" and agent.email:
            case["assignee"] = agent.email
        self._live(created, agent, requester)
        case["articles"] = [a for a in self.articles if a["at"] <= self.now - MARGIN]
        case["status_changes"] = [c for c in self.changes if c["at"] <= self.now - MARGIN]
        for step in (*case["articles"], *case["status_changes"]):
            step["at"] = step["at"].isoformat()
        return case

    def _live(self, created: datetime, agent: Person, requester: Person) -> None:
        if self.outcome == "new":
            return
        demo, scenario = self.pack["demo"], self.scenario
        at = self._later(created, 10, 240)
        self._status(at, "open")
        if scenario.get("notes") and self.rng.random() < 0.4:
            self._article(at, "note", scenario["notes"], agent)
        asks = scenario.get("questions") and (self.outcome == "waiting" or self.rng.random() < 0.25)
        if asks:
            at = self._later(at, 5, 60)
            self._article(at, "reply", scenario["questions"], agent)
            self._status(at, "waiting_for_customer")
            if self.outcome == "waiting":
                return
            at = self._later(at, 60, 2 * 24 * 60)
            self._article(at, "mail_in", scenario["answers"], requester)
            self._status(at, "open")
        if self.outcome in ("open", "waiting"):
            self._article(self._later(at, 5, 120), "reply", demo["progress"][self.lang], agent)
            return
        at = self._later(at, 30, 3 * 24 * 60)
        self._article(at, "reply", scenario["solutions"], agent)
        self._status(at, "resolved")
        if self.outcome == "closed":
            self.changes.append({"at": self._later(at, 3 * 24 * 60, 7 * 24 * 60), "status": "closed"})

    def _article(self, at: datetime, kind: str, texts: Sequence[str], sender: Person) -> None:
        article = {"at": at, "kind": kind, "body_text": self._text(texts)}
        if sender.email:
            article["from"] = sender.json()
        self.articles.append(article)

    def _status(self, at: datetime, status: str) -> None:
        self.changes.append({"at": at, "status": status})

    def _later(self, at: datetime, low_minutes: float, high_minutes: float) -> datetime:
        return at + timedelta(minutes=self.rng.uniform(low_minutes, high_minutes))

    def _created_at(self) -> datetime:
        """A working-day moment within the last months; cases still being worked are recent."""
        days = RECENT_DAYS.get(self.outcome, DAYS)
        today = self.now.astimezone(OSLO).date()
        while True:
            day = today - timedelta(days=self.rng.randrange(days))
            minute = self.rng.randrange(7 * 60 + 30, 16 * 60)
            moment = datetime.combine(day, time(minute // 60, minute % 60), OSLO)
            if day.weekday() < 5 and moment <= self.now - MARGIN:
                return moment.astimezone(self.now.tzinfo)

    def _pick_requester(self, requesters: Sequence[Person]) -> Person:
        """Someone of the scenario's mail domains (default: any of the pack's), in its language
        where there is one."""
        domains = tuple(self.scenario.get("requester_domains", ()))
        pool = [p for p in requesters if p.email.endswith(domains)] if domains else list(requesters)
        if not pool:
            raise LookupError(f"no customer of {domains or 'the demo domains'} to write a demo case")
        speaking = [p for p in pool if p.lang == self.lang]
        return self.rng.choice(speaking or pool)

    def _fill_words(self, requester: Person, agent: Person, created: datetime) -> None:
        lists = {**self.pack["demo"].get("words", {}), **self.scenario.get("words", {})}
        for name, options in lists.items():
            self.words[name] = self._digits(self.rng.choice(options))
        later = created + timedelta(days=self.rng.randint(3, 40))
        self.words.update(
            first_name=requester.first_name,
            name=requester.name,
            agent=agent.first_name,
            agent_name=agent.name,
            date=later.strftime("%d.%m.%Y"),
            date_iso=later.date().isoformat(),
            month=MONTHS[self.lang][created.month - 1],
        )

    def _one(self, value: Any) -> Any:
        """A list in a scenario's fields is a choice of values; anything else is the value."""
        return self.rng.choice(value) if isinstance(value, list) else value

    def _text(self, options: Sequence[str]) -> str:
        return self._fill(self.rng.choice(options))

    def _fill(self, value: Any) -> Any:
        return self._digits(value).format_map(self.words) if isinstance(value, str) else value

    def _digits(self, pattern: str) -> str:
        """``#`` stands for a random digit: invoice and order numbers differ per case."""
        return "".join(self.rng.choice(string.digits) if ch == "#" else ch for ch in pattern)
