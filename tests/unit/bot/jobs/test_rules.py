"""bot/jobs/rules.py, the line's rules written once: servers take turns, people within a
server take turns, one person's jobs keep their order, resumed jobs go first, caps pass a
capped person over, deadlines expire, and slots bound the starts. Pure: no clock, no I/O."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.jobs.rules import Candidate, Person, Ranking, Served, rank

_ids = itertools.count(1)
NAMES: dict[int, str] = {}


def job(
    name: str,
    server: int | None,
    user: int,
    *,
    resumed: bool = False,
    cap: int | None = None,
    start_by: float | None = None,
) -> Candidate:
    """A waiting job, arriving now (its name kept for the assertions)."""
    job_id = next(_ids)
    NAMES[job_id] = name
    return Candidate(job_id, server, user, job_id, resumed, cap, start_by)


def names(candidates: Iterable[Candidate]) -> list[str]:
    return [NAMES[c.job_id] for c in candidates]


def decide(
    waiting: list[Candidate],
    *,
    free: int = 0,
    running: dict[Person, int] | None = None,
    served: Served | None = None,
    now: float | None = None,
) -> Ranking:
    return rank(waiting, free=free, running=running or {}, served=served or Served(), now=now)


class Line:
    """Jobs waiting, started one slot at a time as a backend would: whoever the rules start
    leaves the line and is served."""

    def __init__(self) -> None:
        self.waiting: list[Candidate] = []
        self.served = Served()
        self.stamps = itertools.count()

    def add(self, *jobs: Candidate) -> None:
        self.waiting.extend(jobs)

    def order(self) -> list[str]:
        return names(decide(self.waiting, served=self.served).line)

    def start(self) -> str:
        [started] = decide(self.waiting, free=1, served=self.served).start
        self.waiting.remove(started)
        self.served.serve(started, next(self.stamps))
        return NAMES[started.job_id]


def test_people_in_one_server_take_turns() -> None:
    line = Line()
    line.add(job("a1", 1, 1))
    assert line.start() == "a1"
    line.add(*(job(name, 1, user) for name, user in [("a2", 1), ("a3", 1), ("b1", 2)]))
    line.add(job("b2", 1, 2), job("c1", 1, 3))
    assert line.order() == ["b1", "c1", "a2", "b2", "a3"]  # a was just served; b, c never
    assert [line.start() for _ in range(5)] == ["b1", "c1", "a2", "b2", "a3"]


def test_servers_alternate_and_direct_messages_count_as_one_server() -> None:
    line = Line()
    line.add(job("x1", 10, 1), job("x2", 10, 1), job("x3", 10, 1), job("y1", 20, 2))
    line.add(job("d1", None, 3), job("d2", None, 4))
    assert line.order() == ["x1", "y1", "d1", "x2", "d2", "x3"]


def test_a_flood_from_one_person_does_not_delay_another_persons_request() -> None:
    line = Line()
    line.add(*(job(f"a{n}", 1, 1) for n in range(1, 13)))
    assert line.start() == "a1"
    line.add(job("b1", 1, 2))
    assert line.order()[0] == "b1"
    assert [line.start() for _ in range(3)] == ["b1", "a2", "a3"]


def test_resumed_jobs_go_first_in_their_own_order() -> None:
    line = Line()
    line.add(job("new", 1, 1), job("again1", 2, 2, resumed=True))
    line.add(job("again2", 3, 3, resumed=True))
    assert line.order() == ["again1", "again2", "new"]
    assert [line.start() for _ in range(3)] == ["again1", "again2", "new"]


def test_a_resumed_start_costs_no_new_turn() -> None:
    line = Line()
    line.add(job("a1", 1, 1))
    assert line.start() == "a1"
    line.add(job("b1", 2, 2, resumed=True))  # b's job had its turn before a 429
    assert line.start() == "b1"
    line.add(job("a2", 1, 1), job("b2", 2, 2))
    assert line.order() == ["b2", "a2"]  # b was not served again by its resumed job


def test_a_capped_person_is_passed_over_not_dropped() -> None:
    a1, a2, b1 = job("a1", 1, 1, cap=1), job("a2", 1, 1, cap=1), job("b1", 1, 2)
    ranking = decide([a1, a2, b1], free=3, running={(1, 1): 1})
    assert names(ranking.start) == ["b1"]
    assert names(ranking.line) == ["a1", "a2"]


def test_starts_count_toward_the_cap_as_they_are_given() -> None:
    ranking = decide(
        [job("a1", 1, 1, cap=2), job("a2", 1, 1, cap=2), job("a3", 1, 1, cap=2)], free=3
    )
    assert names(ranking.start) == ["a1", "a2"]
    assert names(ranking.line) == ["a3"]


def test_a_cap_counts_one_server_and_person() -> None:
    """The same person in another server (or the DMs) is another place: not capped here."""
    here, there, dms = (
        job("here", 1, 1, cap=1),
        job("there", 2, 1, cap=1),
        job("dm", None, 1, cap=1),
    )
    ranking = decide([here, there, dms], free=3, running={(1, 1): 1})
    assert names(ranking.start) == ["there", "dm"]


def test_a_capped_resumed_job_waits_too() -> None:
    ranking = decide(
        [job("again", 1, 1, resumed=True, cap=1), job("b1", 1, 2)], free=1, running={(1, 1): 1}
    )
    assert names(ranking.start) == ["b1"]
    assert names(ranking.line) == ["again"]


def test_no_more_start_than_the_free_slots_and_none_while_paused() -> None:
    waiting = [job(f"p{n}", 1, n) for n in range(5)]
    assert len(decide(waiting, free=2).start) == 2
    paused = decide(waiting, free=0)
    assert paused.start == () and names(paused.line) == [f"p{n}" for n in range(5)]


def test_jobs_past_their_start_by_expire_and_take_no_slot() -> None:
    late, again_late = (
        job("late", 1, 1, start_by=100.0),
        job("again", 1, 2, resumed=True, start_by=99.0),
    )
    fine, open_ended = job("fine", 1, 3, start_by=101.0), job("reply", 1, 4)
    ranking = decide([late, again_late, fine, open_ended], free=1, now=100.0)
    assert names(ranking.expired) == ["late", "again"]
    assert names(ranking.start) == ["fine"]
    assert names(ranking.line) == ["reply"]
    assert decide([late], free=1).expired == ()  # without `now`, nothing expires


def test_the_last_serve_of_a_server_and_a_person_orders_the_line() -> None:
    """Stamps from any clock (a backend's last starts): the least recent goes first."""
    served = Served(servers={1: 50.0, 2: 10.0}, people={(1, 1): 50.0, (1, 2): 5.0, (2, 3): 10.0})
    waiting = [job("a", 1, 1), job("b", 1, 2), job("c", 2, 3), job("d", 3, 4)]
    assert names(decide(waiting, served=served).line) == ["d", "c", "b", "a"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, 1, 2, 3]),
            st.integers(1, 4),
            st.booleans(),
            st.sampled_from([None, 1, 2]),
        ),
        max_size=25,
    ),
    st.integers(0, 6),
)
def test_every_job_is_decided_once_within_the_slots_and_caps(
    jobs: list[tuple[int | None, int, bool, int | None]], free: int
) -> None:
    waiting = [
        job("j", server, user, resumed=resumed, cap=cap) for server, user, resumed, cap in jobs
    ]
    ranking = decide(waiting, free=free)
    decided = [c.job_id for c in (*ranking.start, *ranking.line, *ranking.expired)]
    assert sorted(decided) == sorted(c.job_id for c in waiting)
    assert len(ranking.start) <= free
    started: dict[Person, int] = {}
    for candidate in ranking.start:
        started[candidate.person] = started.get(candidate.person, 0) + 1
        assert candidate.cap is None or started[candidate.person] <= candidate.cap
    resumed = [c for c in (*ranking.start, *ranking.line) if c.resumed]
    first = [c for c in ranking.line if c.resumed]
    assert ranking.line[: len(first)] == tuple(first)  # the resumed lead the line
    for person in {c.person for c in waiting}:  # one person's jobs keep their order
        theirs = [
            c.job_id
            for c in (*ranking.start, *ranking.line)
            if c.person == person and not c.resumed
        ]
        assert theirs == sorted(theirs)
    assert len(resumed) == sum(1 for c in waiting if c.resumed)


@pytest.mark.parametrize("free", [0, 1])
def test_an_empty_line_decides_nothing(free: int) -> None:
    assert decide([], free=free) == Ranking((), (), ())
