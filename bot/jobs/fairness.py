"""Who goes next: servers take turns, people within a server take turns, and one person's
jobs keep their order. Jobs resumed after a 429 go before everyone, in their own order.

"Taking turns" means the server (or person) served least recently goes first; one never
served goes before every served one, and arrival order breaks ties. Nothing here knows
about slots, clocks or caps: the `Scheduler` asks, and skips whoever it can't start.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, Protocol, TypeVar

Person = tuple[int | None, int]  # (server, user): people take turns within a server
_STAMPS_KEPT = 4096  # beyond this many remembered servers or people, forget the long-served ones


class Queued(Protocol):
    """What the line needs to know about a job waiting in it."""

    @property
    def server(self) -> int | None: ...  # None = direct messages (its own "server")

    @property
    def person(self) -> Person: ...

    @property
    def seq(self) -> int: ...  # arrival order

    @property
    def resumed(self) -> bool: ...


Q = TypeVar("Q", bound=Queued)
_K = TypeVar("_K", int | None, Person)


class FairLine(Generic[Q]):
    """The jobs waiting for a turn, and whose turn it is."""

    def __init__(self) -> None:
        self._resumed: deque[Q] = deque()
        self._lines: dict[int | None, dict[Person, deque[Q]]] = {}  # each person's jobs, in order
        self._server_served: dict[int | None, int] = {}  # serve stamps: higher = more recent
        self._person_served: dict[Person, int] = {}
        self._stamps = itertools.count()

    def add(self, job: Q) -> None:
        """`job` joins the line (a resumed job: ahead of every other)."""
        if job.resumed:
            self._resumed.append(job)
            return
        line = self._lines.setdefault(job.server, {})
        line.setdefault(job.person, deque()).append(job)

    def remove(self, job: Q) -> None:
        """`job` leaves the line (it starts, fails or is cancelled)."""
        if job.resumed:
            self._resumed.remove(job)
            return
        line = self._lines[job.server]
        mine = line[job.person]
        mine.remove(job)
        if not mine:
            del line[job.person]
            if not line:
                del self._lines[job.server]

    def served(self, job: Q) -> None:
        """`job` started: its server and person go to the back of their turns. A resumed job
        already had its turn; it costs no new one."""
        if job.resumed:
            return
        stamp = next(self._stamps)
        self._server_served[job.server] = self._person_served[job.person] = stamp
        if len(self._person_served) > _STAMPS_KEPT:
            waiting = (p for line in self._lines.values() for p in line)
            _forget_old(self._person_served, waiting, stamp)
            _forget_old(self._server_served, self._lines, stamp)

    def next(self, skip: Callable[[Q], bool]) -> Q | None:
        """The job whose turn it is, passing over those `skip` says can't start now."""
        for job in self._resumed:
            if not skip(job):
                return job
        for server in self._servers_by_turn():
            line = self._lines[server]
            for person in self._people_by_turn(line):
                first = line[person][0]
                if not skip(first):
                    return first
        return None

    def in_order(self) -> Iterator[Q]:
        """Every waiting job, in the order they would start if nothing else changed."""
        yield from self._resumed
        servers = deque(
            deque(deque(line[person]) for person in self._people_by_turn(line))
            for line in (self._lines[server] for server in self._servers_by_turn())
        )
        while servers:
            people = servers.popleft()
            mine = people.popleft()
            yield mine.popleft()
            if mine:
                people.append(mine)
            if people:
                servers.append(people)

    # Least recently served first; never served (-1) before served, then by arrival.

    def _servers_by_turn(self) -> list[int | None]:
        def rank(server: int | None) -> tuple[int, int]:
            first = min(mine[0].seq for mine in self._lines[server].values())
            return (self._server_served.get(server, -1), first)

        return sorted(self._lines, key=rank)

    def _people_by_turn(self, line: dict[Person, deque[Q]]) -> list[Person]:
        return sorted(line, key=lambda p: (self._person_served.get(p, -1), line[p][0].seq))


def _forget_old(served: dict[_K, int], waiting: Iterable[_K], newest: int) -> None:
    """Forget serve stamps older than every waiting one's (and than `newest`, the turn just
    given): such a server or person ranks ahead of those waiters either way, so only memory
    is saved, and whoever was just served still waits their turn."""
    oldest = min((served[key] for key in waiting if key in served), default=newest)
    for key in [key for key, stamp in served.items() if stamp < oldest]:
        del served[key]
