import asyncio

from services.dispatch.content import ContentRef, ContentRefs, QueuedPart
from services.dispatch.message_budget import OVERHEAD_BYTES, InHand, MessageBudget, bytes_in_hand

MB = 1024 * 1024
PDF = "a" * 64  # a part's digest


def test_an_email_holds_its_content_and_the_encoded_message_built_from_it():
    refs = ContentRefs(
        html=ContentRef("h" * 64, 100_000, "text/html"),
        parts=(QueuedPart("a.pdf", "", ContentRef(PDF, MB, "application/pdf")),),
    )
    assert bytes_in_hand(refs) == InHand(int(100_000 * 2.4) + OVERHEAD_BYTES, {PDF: int(MB * 2.4)})
    assert bytes_in_hand(ContentRefs()) == InHand(OVERHEAD_BYTES)  # an event from before the store: bodies inline


def own(size: int) -> InHand:
    return InHand(size)


async def test_a_part_emails_share_is_counted_once_until_the_last_of_them_lets_go():
    budget = MessageBudget(20 * MB)
    carrying = InHand(MB, {PDF: 6 * MB})
    async with budget.holding(carrying):
        async with budget.holding(carrying), budget.holding(carrying):
            assert budget.used == 3 * MB + 6 * MB
        assert budget.used == MB + 6 * MB
    assert budget.used == 0


async def test_an_email_waits_when_a_part_nobody_holds_does_not_fit():
    budget = MessageBudget(20 * MB)
    async with budget.holding(InHand(2 * MB, {PDF: 9 * MB})):
        async with budget.holding(InHand(2 * MB, {PDF: 9 * MB})):  # shares what is held: fits
            assert budget.used == 13 * MB
            waiting = budget.holding(InHand(2 * MB, {"b" * 64: 9 * MB}))  # kept, as below
            other = asyncio.create_task(waiting.__aenter__())
            await asyncio.sleep(0.01)
            assert not other.done() and budget.used == 13 * MB
    await asyncio.wait_for(other, 1)
    assert budget.used == 11 * MB


async def test_emails_are_let_in_in_the_order_they_asked_so_a_large_one_is_not_passed_over():
    budget = MessageBudget(10 * MB)
    admitted: list[str] = []
    small_sends: list[asyncio.Task] = []

    async def send(name: str, size: int, held: float) -> None:
        async with budget.holding(own(size)):
            admitted.append(name)
            await asyncio.sleep(held)

    small_sends.append(asyncio.create_task(send("small 0", 4 * MB, 0.02)))
    await asyncio.sleep(0)
    large = asyncio.create_task(send("large", 8 * MB, 0))
    await asyncio.sleep(0)
    for index in range(1, 20):  # each would fit beside the one in hand, were it let past the large one
        small_sends.append(asyncio.create_task(send(f"small {index}", 4 * MB, 0.02)))
        await asyncio.sleep(0.005)
    await asyncio.wait_for(asyncio.gather(large, *small_sends), 5)
    assert admitted[:2] == ["small 0", "large"]
    assert budget.used == 0


async def test_an_email_waits_for_room_and_goes_once_another_lets_go():
    budget = MessageBudget(10 * MB)
    order: list[str] = []
    first_in = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with budget.holding(own(6 * MB)):
            order.append("first in")
            first_in.set()
            await release_first.wait()
        order.append("first out")

    async def second() -> None:
        await first_in.wait()
        async with budget.holding(own(6 * MB)):
            order.append("second in")

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_in.wait()
    await asyncio.sleep(0.01)
    assert order == ["first in"] and budget.used == 6 * MB, "no room for the second: it waits"
    release_first.set()
    await asyncio.gather(*tasks)
    assert order == ["first in", "first out", "second in"] and budget.used == 0


async def test_an_email_larger_than_the_whole_budget_goes_alone():
    budget = MessageBudget(10 * MB)
    async with budget.holding(own(40 * MB)):
        assert budget.used == 40 * MB
        waiting = budget.holding(own(MB))  # kept, as below
        second = asyncio.create_task(waiting.__aenter__())
        await asyncio.sleep(0.01)
        assert not second.done()
    await asyncio.wait_for(second, 1)
    assert budget.used == MB


async def test_a_cancelled_wait_takes_nothing():
    budget = MessageBudget(10 * MB)
    async with budget.holding(own(8 * MB)):
        waiting = asyncio.create_task(budget.holding(own(8 * MB)).__aenter__())
        await asyncio.sleep(0.01)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert budget.used == 8 * MB
    assert budget.used == 0


async def test_a_send_cancelled_while_it_holds_room_gives_it_back():
    budget = MessageBudget(10 * MB)
    holding = asyncio.Event()

    async def send() -> None:
        async with budget.holding(own(8 * MB)):
            holding.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(send())
    await holding.wait()
    waiting = budget.holding(own(8 * MB))  # kept: a dropped context manager would give its room back
    waiter = asyncio.create_task(waiting.__aenter__())
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.wait_for(waiter, 1)
    assert budget.used == 8 * MB, "the waiting send got the room the cancelled one gave back"


async def test_emails_sharing_a_part_larger_than_half_the_budget_still_go_side_by_side():
    budget = MessageBudget(10 * MB)
    huge = InHand(MB, {PDF: 40 * MB})
    async with budget.holding(huge), budget.holding(huge), budget.holding(huge):
        assert budget.used == 3 * MB + 5 * MB  # the part counted as half the budget
    assert budget.used == 0


async def test_an_email_cancelled_as_it_is_let_in_gives_back_its_share_of_a_part():
    budget = MessageBudget(20 * MB)
    carrying = InHand(MB, {PDF: 9 * MB})
    holder = budget.holding(InHand(12 * MB))  # kept, as below
    await holder.__aenter__()
    waiting = asyncio.create_task(budget.holding(carrying).__aenter__())
    await asyncio.sleep(0.01)
    await holder.__aexit__(None, None, None)  # lets the waiting email in: its room is taken for it
    waiting.cancel()  # before it ran again
    await asyncio.gather(waiting, return_exceptions=True)
    assert budget.used == 0
    async with budget.holding(InHand(2 * MB, {PDF: 18 * MB})):
        assert budget.used == 2 * MB + 10 * MB, "the part counted afresh, as nobody holds it"
