"""The painting scheduler: slots, the provider's rate limit, 429 pauses, caps, fair turns,
deadlines, cancel/close and the places waiters are told (who goes next: test_fairness).

Time is a fake clock the tests move by hand, then `poke()`; the rate-limit window (which the
`limits` library counts with `time.time()`) is moved with time-machine. Nothing sleeps."""

from __future__ import annotations

import asyncio

import pytest
import time_machine

from bot.errors import JobCancelled, ShuttingDown, WaitedTooLong
from bot.jobs.line import Place, Ticket
from bot.jobs.local_line import LocalLine
from bot.jobs.ratelimit import RATE_MARGIN, RateLimit
from tests.unit.bot.jobs.line_rig import Line, failure, settle

pytestmark = pytest.mark.timeout(10)  # a lost wake-up fails, it does not hang


@pytest.fixture
async def line() -> Line:
    return Line()


async def test_at_most_concurrency_turns_are_held() -> None:
    line = Line(concurrency=2)
    for job in range(1, 6):
        await line.ask(job, user=job)
    assert line.started == [1, 2]
    assert line.local.running == 2
    await line.finish(1)
    assert line.started == [1, 2, 3]
    assert line.local.running == 2
    await line.finish(2, 3, 4, 5)
    assert line.started == [1, 2, 3, 4, 5]
    assert line.local.running == 0


async def test_a_flood_from_one_person_does_not_delay_another_persons_single_request(
    line: Line,
) -> None:
    for job in range(1, 13):
        await line.ask(job, user=7)
    await line.ask(100, user=8)
    assert line.started == [1]
    assert line.positions()[0] == 100
    assert line.local.place(100) == Place(1, None)
    await line.finish(1)
    assert line.started == [1, 100]
    await line.finish(100)
    assert line.started == [1, 100, 2]  # the flood keeps its own order


async def test_a_capped_person_is_skipped_until_one_of_theirs_ends() -> None:
    line = Line(concurrency=3)
    await line.ask(1, user=1, cap=1)
    await line.ask(2, user=1, cap=1)
    await line.ask(3, user=2)
    assert line.started == [1, 3]  # 2 may not start while 1 paints; 3 may
    assert line.local.running == 2
    assert line.positions() == [2]
    await line.finish(1)
    assert line.started == [1, 3, 2]


async def test_a_cap_counts_one_server_and_person() -> None:
    """The running cap is set per server (`/imagine-admin limits`) and counts there: the same
    person painting in another server, or in the DMs, is not held back by it."""
    line = Line(concurrency=4)
    await line.ask(1, guild=10, user=1, cap=1)
    await line.ask(2, guild=10, user=1, cap=1)
    await line.ask(3, guild=20, user=1, cap=1)
    await line.ask(4, guild=None, user=1, cap=1)
    assert line.started == [1, 3, 4]
    await line.finish(1)
    assert line.started == [1, 3, 4, 2]


async def test_rate_limit_paces_calls_a_window_at_a_time() -> None:
    with time_machine.travel(1_000_000.0, tick=False) as traveller:
        line = Line(concurrency=20, rate=RateLimit("6 per 10 seconds"))
        for job in range(1, 19):
            await line.ask(job, user=job)
        assert line.started == list(range(1, 19))  # turns are slots; calls are paced
        assert line.paced == list(range(1, 7))
        traveller.shift(10.2)  # the first six hits left the window, but not the margin yet
        await line.advance(10.2)
        assert len(line.paced) == 6
        traveller.shift(RATE_MARGIN)
        await line.advance(RATE_MARGIN)
        assert sorted(line.paced) == list(range(1, 13))
        traveller.shift(10.3)
        await line.advance(10.3)
        assert sorted(line.paced) == list(range(1, 19))
        await line.finish_all()


async def test_a_pause_holds_calls_of_turns_already_held(line: Line) -> None:
    line.local.pause(30)  # a call got a 429 while this job was planning
    call = asyncio.create_task(line.local.pace())
    await line.advance(29.9)
    assert not call.done()
    await line.advance(0.1)
    assert call.done() and call.exception() is None


async def test_a_pause_holds_every_start_and_a_resumed_job_goes_first() -> None:
    line = Line(concurrency=2)
    await line.ask(1, user=1)
    await line.ask(2, user=2)
    await line.ask(3, user=3)
    await line.ask(4, user=4)
    line.local.pause(30)  # job 1's call got a 429
    line.local.pause(5)  # a shorter pause does not shorten it
    await line.finish(1)
    await line.ask(5, user=1, resume=True)
    assert line.started == [1, 2]
    assert line.positions() == [5, 3, 4]
    await line.advance(29)
    assert line.started == [1, 2]
    await line.advance(1)
    assert line.started == [1, 2, 5]
    await line.finish(2)
    assert line.started == [1, 2, 5, 3]
    await line.finish_all()


async def test_a_resumed_job_keeps_its_deadline() -> None:
    """A job waiting out a provider pause still has to start in time for its answer to
    reach its person: a pause longer than that ends it, rather than leaving it waiting."""
    line = Line(concurrency=2)
    await line.ask(1, user=1)
    await line.ask(2, user=2)
    line.local.pause(60)
    await line.finish(1, 2)
    expiring = await line.ask(3, user=1, resume=True, start_by=line.clock.now + 10)
    in_time = await line.ask(4, user=2, resume=True, start_by=line.clock.now + 120)
    await line.advance(10)
    assert isinstance(failure(expiring), WaitedTooLong)
    await line.advance(51)
    assert line.started == [1, 2, 4]
    await line.finish(4)
    assert failure(in_time) is None


async def test_a_deadline_passing_in_line_raises_waited_too_long(line: Line) -> None:
    await line.ask(1, user=1)
    late = await line.ask(2, user=2, start_by=line.clock.now + 10)
    await line.ask(3, user=3)
    assert line.positions() == [2, 3]
    await line.advance(10)
    assert isinstance(failure(late), WaitedTooLong)
    assert line.positions() == [3]
    assert line.told[3][-1].position == 1  # moved up
    assert line.started == [1]  # no slot had to free for it to notice
    await line.finish_all()


async def test_a_deadline_already_passed_raises_at_once(line: Line) -> None:
    task = await line.ask(1, start_by=line.clock.now - 1)
    assert isinstance(failure(task), WaitedTooLong)
    assert line.started == []


async def test_the_scheduler_wakes_itself_for_deadlines_and_pauses() -> None:
    # The only test on the loop's own clock: it shows that no poke() is needed. It waits a few
    # milliseconds, and asserts only what happened, never how long it took.
    loop = asyncio.get_running_loop()
    scheduler = LocalLine(concurrency=1, clock=loop.time)
    hold = asyncio.Event()
    started: list[int] = []

    async def job(ticket: Ticket) -> None:
        async with scheduler.turn(ticket):
            started.append(ticket.job_id)
            await hold.wait()

    first = asyncio.create_task(job(Ticket(1, 1, 1)))
    late = asyncio.create_task(job(Ticket(2, 1, 2, start_by=loop.time() + 0.01)))
    with pytest.raises(WaitedTooLong):
        await asyncio.wait_for(late, 5)
    scheduler.pause(0.01)
    hold.set()
    await first
    await asyncio.wait_for(job(Ticket(3, 1, 3)), 5)
    assert started == [1, 3]


async def test_cancel_takes_a_waiter_out_and_moves_everyone_up(line: Line) -> None:
    await line.ask(1, user=1)
    await line.ask(2, user=2)
    await line.ask(3, user=3)
    assert line.told[3] == [Place(2, None)]
    assert await line.local.cancel(2)
    await settle()
    assert isinstance(failure(line.tasks[2]), JobCancelled)
    assert line.told[3] == [Place(2, None), Place(1, None)]
    assert not await line.local.cancel(2)  # gone
    assert not await line.local.cancel(1)  # painting, not waiting
    await line.finish(1)
    assert line.started == [1, 3]


async def test_close_fails_waiters_and_lets_running_turns_finish(line: Line) -> None:
    await line.ask(1, user=1)
    await line.ask(2, user=2)
    line.local.close()
    await settle()
    assert isinstance(failure(line.tasks[2]), ShuttingDown)
    assert isinstance(failure(await line.ask(3, user=3)), ShuttingDown)
    assert line.local.waiting() == []
    assert line.local.running == 1  # the held turn goes on after close()
    await line.finish(1)
    assert line.local.running == 0
    assert line.started == [1]
    assert failure(line.tasks[1]) is None


async def test_a_waiter_whose_task_is_cancelled_leaves_cleanly(line: Line) -> None:
    await line.ask(1, user=1)
    await line.ask(2, user=2)
    await line.ask(3, user=3)
    line.tasks[2].cancel()
    await settle()
    assert line.positions() == [3]
    await line.finish(1)
    assert line.started == [1, 3]
    await line.finish(3)
    assert line.local.running == 0


async def test_a_job_cancelled_as_it_is_given_its_turn_releases_the_slot(line: Line) -> None:
    await line.ask(1, user=1)
    await line.ask(2, user=2)
    await line.ask(3, user=3)
    line._done[1].set()
    await asyncio.sleep(0)  # 1's block ends and hands the slot to 2 …
    line.tasks[2].cancel()  # … whose task is cancelled before it runs
    await settle()
    assert line.started == [1, 3]
    assert line.local.running == 1


async def test_a_block_that_raises_releases_its_slot(line: Line) -> None:
    with pytest.raises(RuntimeError):
        async with line.local.turn(Ticket(1, 1, 1)):
            raise RuntimeError("paint failed")
    assert line.local.running == 0
    await line.ask(2)
    assert line.started == [2]


async def test_places_and_eta_are_told_when_they_change() -> None:
    line = Line(concurrency=2)
    await line.ask(1, user=1)
    await line.ask(2, user=2)
    await line.ask(3, user=3)
    await line.ask(4, user=4)
    await line.ask(5, user=5)
    assert line.told[5] == [Place(3, None)]  # no turn measured yet
    line.clock.now += 20
    await line.finish(1)  # one turn of 20 s measured; 3 starts
    assert line.positions() == [4, 5]
    assert line.told[4][-1] == Place(1, 20.0)  # ceil(1/2) turns of 20 s
    assert line.told[5][-1] == Place(2, 20.0)
    line.local.poke()  # nothing changed: nobody is told again
    await settle()
    assert len(line.told[5]) == 2
    line.local.pause(15)
    await settle()
    assert line.told[5][-1] == Place(2, 35.0)
    await line.finish_all()


async def test_eta_counts_the_rate_limit_when_it_is_the_slower_part() -> None:
    with time_machine.travel(1_000_000.0, tick=False):
        line = Line(concurrency=2, rate=RateLimit("1 per minute"))
        await line.ask(1, user=1)
        await line.finish(1)  # measured a turn of 0 s
        await line.ask(2, user=2)
        await line.ask(3, user=3)  # 2 and 3 hold the slots
        await line.ask(4, user=4)
        await line.ask(5, user=5)
        assert line.local.waiting() == [
            (Ticket(4, 1, 4), Place(1, 60.0)),
            (Ticket(5, 1, 5), Place(2, 120.0)),
        ]
        await line.finish_all()


async def test_many_waiters_are_placed_in_one_pass_each_change() -> None:
    line = Line(concurrency=1)
    for job in range(1, 251):
        await line.ask(job, guild=job % 5, user=job % 50)
    order = line.positions()
    assert len(order) == 249 and len(set(order)) == 249
    assert [place.position for _, place in line.local.waiting()] == list(range(1, 250))
    first_waiter = order[0]
    await line.finish(1)
    assert line.started == [1, first_waiter]  # the simulated order is the real one
    for job in order[1:]:
        await line.finish(line.started[-1])
        assert line.started[-1] == job
    await line.finish_all()


async def test_a_failing_on_wait_does_not_cost_the_job_its_turn(line: Line) -> None:
    async def broken(place: Place) -> None:
        raise RuntimeError("edit failed")

    await line.ask(1)
    started = asyncio.Event()

    async def job() -> None:
        async with line.local.turn(Ticket(2, 1, 2), broken):
            started.set()

    task = asyncio.create_task(job())
    await settle()
    await line.finish(1)
    assert started.is_set()
    assert failure(task) is None


async def test_the_same_job_cannot_wait_twice(line: Line) -> None:
    await line.ask(1)
    await line.ask(2)
    with pytest.raises(ValueError, match="already waiting"):
        async with line.local.turn(Ticket(2, 1, 1)):
            pass
    await line.finish_all()


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        LocalLine(concurrency=0)


async def test_forgetting_long_served_people_keeps_turns_fair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.jobs.local_line._SERVED_KEPT", 4)  # forget often
    line = Line(concurrency=1)
    for user in range(100, 140):  # people who came, were served and left
        await line.ask(user, user=user)
        await line.finish(user)
    await line.ask(1, user=1)
    for job, user in [(2, 1), (3, 1), (4, 2), (5, 2), (6, 3)]:
        await line.ask(job, user=user)
    assert line.positions() == [4, 6, 2, 5, 3]  # 1 was just served; 2 and 3 never
    await line.finish(1, 4, 6, 2, 5, 3)
    assert line.started[-6:] == [1, 4, 6, 2, 5, 3]
    assert len(line.local._served.people) < 10
