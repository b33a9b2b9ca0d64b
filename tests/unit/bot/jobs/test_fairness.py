"""bot/jobs/fairness.py: servers take turns, people within a server take turns, one person's
jobs keep their order, resumed jobs go first, and forgetting old turns changes no order."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest

from bot.jobs.fairness import FairLine, Person

_arrivals = itertools.count()


@dataclass(eq=False)
class Job:
    name: str
    server: int | None
    user: int
    resumed: bool = False
    seq: int = field(default_factory=lambda: next(_arrivals))

    @property
    def person(self) -> Person:
        return (self.server, self.user)


def never(job: Job) -> bool:
    return False


def order(line: FairLine[Job]) -> list[str]:
    return [job.name for job in line.in_order()]


def start(line: FairLine[Job]) -> str:
    """Start the job whose turn it is, as the scheduler does: out of the line, then served."""
    job = line.next(never)
    assert job is not None
    line.remove(job)
    line.served(job)
    return job.name


def test_people_in_one_server_take_turns() -> None:
    line: FairLine[Job] = FairLine()
    first = Job("a1", 1, 1)
    line.add(first)
    assert start(line) == "a1"
    for name, user in [("a2", 1), ("a3", 1), ("b1", 2), ("b2", 2), ("c1", 3)]:
        line.add(Job(name, 1, user))
    assert order(line) == ["b1", "c1", "a2", "b2", "a3"]  # a was just served; b, c never
    assert [start(line) for _ in range(5)] == ["b1", "c1", "a2", "b2", "a3"]


def test_servers_alternate_and_direct_messages_count_as_one_server() -> None:
    line: FairLine[Job] = FairLine()
    for name in ("x1", "x2", "x3"):
        line.add(Job(name, 10, 1))
    line.add(Job("y1", 20, 2))
    line.add(Job("d1", None, 3))
    line.add(Job("d2", None, 4))
    assert order(line) == ["x1", "y1", "d1", "x2", "d2", "x3"]


def test_resumed_jobs_go_first_in_their_own_order() -> None:
    line: FairLine[Job] = FairLine()
    line.add(Job("new", 1, 1))
    line.add(Job("again1", 2, 2, resumed=True))
    line.add(Job("again2", 3, 3, resumed=True))
    assert order(line) == ["again1", "again2", "new"]
    assert [start(line) for _ in range(3)] == ["again1", "again2", "new"]


def test_a_resumed_start_costs_no_new_turn() -> None:
    line: FairLine[Job] = FairLine()
    line.add(Job("a1", 1, 1))
    assert start(line) == "a1"
    line.add(Job("b1", 2, 2, resumed=True))  # b's job had its turn before a 429
    assert start(line) == "b1"
    line.add(Job("a2", 1, 1))
    line.add(Job("b2", 2, 2))
    assert order(line) == ["b2", "a2"]  # b was not served again by its resumed job


def test_next_passes_over_who_cannot_start() -> None:
    line: FairLine[Job] = FairLine()
    for job in (Job("a1", 1, 1), Job("a2", 1, 1), Job("b1", 1, 2)):
        line.add(job)
    chosen = line.next(lambda job: job.user == 1)
    assert chosen is not None and chosen.name == "b1"
    assert line.next(lambda job: True) is None


def test_forgetting_long_served_people_keeps_turns_fair(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.jobs.fairness._STAMPS_KEPT", 0)  # forget at every start
    line: FairLine[Job] = FairLine()
    for user in range(1, 40):  # people who came, were served and left
        line.add(Job(f"once{user}", 1, user))
        start(line)
    line.add(Job("a0", 1, 1))
    assert start(line) == "a0"
    for name, user in [("a1", 1), ("a2", 1), ("b1", 2), ("b2", 2), ("c1", 3)]:
        line.add(Job(name, 1, user))
    assert order(line) == ["b1", "c1", "a1", "b2", "a2"]
    assert [start(line) for _ in range(5)] == ["b1", "c1", "a1", "b2", "a2"]
    assert len(line._person_served) < 10
