"""A send that a stop is putting back never passes its point of no return, even when Python
3.11's wait_for swallowed the cancel (gh-86296) and the send carried on to DATA's 354."""

from __future__ import annotations

import asyncio

import pytest

from services.core import point_of_no_return
from services.dispatch.smtp import _content_past_no_return


async def test_a_send_whose_cancel_was_swallowed_does_not_pass_its_point():
    point = point_of_no_return.PointOfNoReturn()
    reached_data: list[bool] = []

    async def send_after_a_swallowed_cancel() -> None:
        asyncio.current_task().cancel()
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            pass  # as wait_for does when the reply it awaited landed at the same moment
        reached_data.append(True)
        await _content_past_no_return(None, None)  # never reaches the client

    task = asyncio.create_task(send_after_a_swallowed_cancel(), context=point_of_no_return.watching(point))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reached_data == [True] and not point.passed
