import asyncio

import pytest

from services.core.per_turn import PerTurn


async def test_the_asks_of_one_turn_are_answered_by_one_call_each_with_its_own_answer():
    calls: list[list[int]] = []

    async def square_all(items: list[int]) -> list[int]:
        calls.append(items)
        return [i * i for i in items]

    per_turn = PerTurn(square_all)
    assert await asyncio.gather(*(per_turn.ask(i) for i in range(5))) == [0, 1, 4, 9, 16]
    assert calls == [[0, 1, 2, 3, 4]]
    assert await per_turn.ask(7) == 49 and calls[-1] == [7]


async def test_an_error_for_one_item_reaches_its_asker_alone_and_a_raised_one_reaches_all():
    async def answer_all(items: list[int]) -> list[int | BaseException]:
        if 0 in items:
            raise RuntimeError("the database is away")
        return [ValueError(f"no {i}") if i < 0 else i for i in items]

    per_turn = PerTurn(answer_all)
    results = await asyncio.gather(per_turn.ask(-1), per_turn.ask(2), return_exceptions=True)
    assert isinstance(results[0], ValueError) and results[1] == 2
    results = await asyncio.gather(per_turn.ask(0), per_turn.ask(3), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_a_cancelled_asker_leaves_the_others_answered_and_settle_waits_for_them():
    release = asyncio.Event()

    async def slow(items: list[int]) -> list[int]:
        await release.wait()
        return items

    per_turn = PerTurn(slow)
    cancelled = asyncio.create_task(per_turn.ask(1))
    kept = asyncio.create_task(per_turn.ask(2))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    settled = asyncio.create_task(per_turn.settle())
    await asyncio.sleep(0.01)
    assert not settled.done(), "the answer is still coming"
    release.set()
    await settled
    assert await kept == 2
    with pytest.raises(asyncio.CancelledError):
        await cancelled
