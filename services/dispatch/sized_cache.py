"""A small LRU bounded by bytes: what dispatch keeps of the content a batch repeats (the content
itself, decoded bodies, base64 lines, built text parts), so that a thousand emails naming one body
or one attachment read, decode and encode it once."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedCache(Generic[K, V]):
    """The values last used, at most `capacity` bytes in all as `size_of` counts them; a value
    larger than a quarter of that is not kept."""

    def __init__(self, capacity: int, size_of: Callable[[V], int]) -> None:
        self.capacity = capacity
        self.size_of = size_of
        self._values: OrderedDict[K, V] = OrderedDict()
        self._size = 0

    def get(self, key: K) -> V | None:
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        if (value := self.get(key)) is None:
            value = make()
            self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        size = self.size_of(value)
        if size > self.capacity // 4 or key in self._values:
            return
        self._values[key] = value
        self._size += size
        while self._size > self.capacity:
            _, dropped = self._values.popitem(last=False)
            self._size -= self.size_of(dropped)
