import asyncio

from services.dispatch.acceptance_budget import AcceptanceBudget


class Calls:
    """Calls that take room in a budget, each let go when the test says."""

    def __init__(self, budget: AcceptanceBudget) -> None:
        self.budget = budget
        self.admitted: list[str] = []
        self._release: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task] = {}

    def start(self, name: str, emails: int) -> None:
        self._release[name] = asyncio.Event()
        self.tasks[name] = asyncio.create_task(self._call(name, emails))

    async def _call(self, name: str, emails: int) -> None:
        async with self.budget.holding(emails):
            self.admitted.append(name)
            await self._release[name].wait()

    async def release(self, name: str) -> None:
        self._release[name].set()
        await self.tasks[name]
        await asyncio.sleep(0)  # those let in run up to their wait


async def settled() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_calls_past_the_budget_wait_and_are_let_in_in_the_order_they_came():
    calls = Calls(AcceptanceBudget(2000))
    calls.start("batch 1", 1000)
    calls.start("batch 2", 1000)
    await settled()
    calls.start("batch 3", 1000)
    await settled()
    calls.start("one email", 1)  # it would fit beside nothing, but batch 3 came first
    await settled()
    assert calls.admitted == ["batch 1", "batch 2"] and calls.budget.used == 2000

    await calls.release("batch 1")
    assert calls.admitted == ["batch 1", "batch 2", "batch 3"] and calls.budget.used == 2000
    await calls.release("batch 2")
    assert calls.admitted[-1] == "one email" and calls.budget.used == 1001
    await calls.release("batch 3")
    await calls.release("one email")
    assert calls.budget.used == 0


async def test_a_batch_larger_than_the_budget_goes_alone():
    budget = AcceptanceBudget(2000)
    async with budget.holding(5000):
        assert budget.used == 2000
    assert budget.used == 0


async def test_a_call_cancelled_while_it_waits_takes_nothing_and_holds_no_one_back():
    calls = Calls(AcceptanceBudget(1000))
    first = calls.budget.holding(1000)
    await first.__aenter__()
    calls.start("cancelled", 1000)
    await settled()
    calls.start("next", 10)
    await settled()
    calls.tasks["cancelled"].cancel()
    await first.__aexit__(None, None, None)  # before the cancelled call has run again
    await asyncio.gather(calls.tasks["cancelled"], return_exceptions=True)
    await settled()
    assert calls.admitted == ["next"] and calls.budget.used == 10
    await calls.release("next")
    assert calls.budget.used == 0


async def test_a_call_cancelled_as_it_is_let_in_gives_its_room_to_the_next():
    calls = Calls(AcceptanceBudget(1000))
    first = calls.budget.holding(1000)
    await first.__aenter__()
    calls.start("cancelled", 1000)
    calls.start("next", 1000)
    await settled()
    await first.__aexit__(None, None, None)  # lets "cancelled" in; its task has not run since
    calls.tasks["cancelled"].cancel()
    await asyncio.gather(calls.tasks["cancelled"], return_exceptions=True)
    await settled()
    assert calls.admitted == ["next"] and calls.budget.used == 1000
    await calls.release("next")
    assert calls.budget.used == 0
