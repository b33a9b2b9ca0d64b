"""The line's rules, written once: which waiting jobs start now, and in what order the rest
wait. Both backends of the line feed this one pure function: the in-process line
(`bot.jobs.local_line`) from memory, the line shared by workers (`bot.storage.turns`) from the
job rows it reads under its lock.

- **Deadlines**: a job past its start-by time does not start; it is handed back as expired.
- **Resumed first**: a job that had its turn and lost it to a provider pause goes before
  every other, in arrival order. Its new turn is not a new serve.
- **Servers take turns, then people**: the server served least recently goes first (one
  never served before every served one; arrival breaks ties), and within a server the person
  served least recently. One person's jobs keep their order.
- **Caps**: a person paints at most their *running* cap at once, counted per server and
  person (the DMs are one place); a capped job is passed over, not dropped.
- **Slots**: at most `free` jobs start.

Nothing here knows clocks, slots or storage: callers give the times, counts and stamps.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

Server = int | None  # a server's id; None = direct messages (one place)
Person = tuple[Server, int]  # (server, user): people take turns within a server
NEVER: Final = float("-inf")  # the serve stamp of a server or person never served


@dataclass(frozen=True, slots=True)
class Candidate:
    """A job waiting for its turn, as the rules see it."""

    job_id: int
    server: Server
    user_id: int
    arrival: int  # arrival order (any increasing number: a sequence, the job's id)
    resumed: bool = False  # it had its turn and lost it to a provider pause
    cap: int | None = None  # the person's running cap here (None: no cap)
    start_by: float | None = None  # after this (the caller's clock) it must not start

    @property
    def person(self) -> Person:
        """Whose job it is, in which place."""
        return (self.server, self.user_id)


@dataclass(slots=True)
class Served:
    """When each server and person last started a turn: any increasing stamps (a counter,
    a timestamp); a larger stamp is a later serve, a missing one never."""

    servers: dict[Server, float] = field(default_factory=dict)
    people: dict[Person, float] = field(default_factory=dict)

    def serve(self, candidate: Candidate, stamp: float) -> None:
        """`candidate` started at `stamp`: its server and person go to the back of their
        turns (a resumed job already had its turn: it costs no new one)."""
        if not candidate.resumed:
            self.servers[candidate.server] = stamp
            self.people[candidate.person] = stamp

    def latest(self) -> float:
        """The newest stamp given (NEVER if none)."""
        return max(itertools.chain(self.servers.values(), self.people.values()), default=NEVER)


@dataclass(frozen=True, slots=True)
class Ranking:
    """What the rules decided: who starts now (in order), who waits (the order they would
    start if nothing changed: position 1 first), and who is past their start-by."""

    start: tuple[Candidate, ...]
    line: tuple[Candidate, ...]
    expired: tuple[Candidate, ...]


def rank(
    candidates: Iterable[Candidate],
    *,
    free: int,
    running: Mapping[Person, int],
    served: Served,
    now: float | None = None,
) -> Ranking:
    """Apply the rules to the jobs waiting now.

    `free`: the painting slots open (0 while paused: no one starts, places still come);
    `running`: the turns each person holds now; `served`: when servers and people last
    started (not changed: the caller records the starts it makes). `now` and each
    candidate's `start_by` are in one clock; without `now` nothing expires.
    """
    waiting: list[Candidate] = []
    expired: list[Candidate] = []
    for candidate in candidates:
        late = now is not None and candidate.start_by is not None and now >= candidate.start_by
        (expired if late else waiting).append(candidate)
    line = _Line(waiting, served, running)
    start: list[Candidate] = []
    while len(start) < free:
        chosen = line.next_startable()
        if chosen is None:
            break
        line.take(chosen)
        start.append(chosen)
    return Ranking(tuple(start), tuple(line.in_order()), tuple(expired))


class _Line:
    """The waiting jobs grouped for taking turns, with serves and caps as starts change them."""

    def __init__(
        self, waiting: list[Candidate], served: Served, running: Mapping[Person, int]
    ) -> None:
        self._served = Served(dict(served.servers), dict(served.people))
        self._stamp = self._served.latest()
        self._running = dict(running)
        self._resumed = sorted((c for c in waiting if c.resumed), key=_arrival)
        self._servers: dict[Server, dict[Person, deque[Candidate]]] = {}
        for candidate in sorted((c for c in waiting if not c.resumed), key=_arrival):
            people = self._servers.setdefault(candidate.server, {})
            people.setdefault(candidate.person, deque()).append(candidate)

    def _capped(self, candidate: Candidate) -> bool:
        cap = candidate.cap
        return cap is not None and self._running.get(candidate.person, 0) >= cap

    def next_startable(self) -> Candidate | None:
        """The job whose turn it is, passing over those whose person is at their cap."""
        for candidate in self._resumed:
            if not self._capped(candidate):
                return candidate
        for server in self._servers_by_turn():
            people = self._servers[server]
            for person in self._people_by_turn(people):
                first = people[person][0]
                if not self._capped(first):
                    return first
        return None

    def take(self, candidate: Candidate) -> None:
        """`candidate` starts: out of the line, its person holds one more turn, and its
        server and person were just served."""
        if candidate.resumed:
            self._resumed.remove(candidate)
        else:
            people = self._servers[candidate.server]
            people[candidate.person].popleft()
            if not people[candidate.person]:
                del people[candidate.person]
                if not people:
                    del self._servers[candidate.server]
        self._running[candidate.person] = self._running.get(candidate.person, 0) + 1
        self._stamp = (0.0 if self._stamp == NEVER else self._stamp) + 1
        self._served.serve(candidate, self._stamp)

    def in_order(self) -> Iterator[Candidate]:
        """Every job still waiting, in the order they would start: the resumed, then one job
        of each server in turn (each server's people in turn, each person's jobs in order)."""
        yield from self._resumed
        servers = deque(
            deque(deque(self._servers[server][person]) for person in self._people_by_turn(people))
            for server, people in ((s, self._servers[s]) for s in self._servers_by_turn())
        )
        while servers:
            people = servers.popleft()
            mine = people.popleft()
            yield mine.popleft()
            if mine:
                people.append(mine)
            if people:
                servers.append(people)

    def _servers_by_turn(self) -> list[Server]:
        def turn(server: Server) -> tuple[float, int]:
            first = min(jobs[0].arrival for jobs in self._servers[server].values())
            return (self._served.servers.get(server, NEVER), first)

        return sorted(self._servers, key=turn)

    def _people_by_turn(self, people: dict[Person, deque[Candidate]]) -> list[Person]:
        return sorted(
            people,
            key=lambda person: (self._served.people.get(person, NEVER), people[person][0].arrival),
        )


def _arrival(candidate: Candidate) -> int:
    return candidate.arrival
