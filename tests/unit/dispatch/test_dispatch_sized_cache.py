"""The byte-bounded LRU dispatch keeps repeated content in (services/dispatch/sized_cache.py)."""

from services.dispatch.sized_cache import SizedCache


def test_the_least_recently_used_go_first_once_the_bytes_are_over():
    cache: SizedCache[str, bytes] = SizedCache(100, len)
    cache.put("a", b"x" * 20)
    cache.put("b", b"x" * 20)
    assert cache.get("a") is not None  # "a" is now the most recent
    cache.put("c", b"x" * 25)
    cache.put("d", b"x" * 25)
    cache.put("e", b"x" * 25)
    assert [key for key in "abcde" if cache.get(key) is not None] == ["a", "c", "d", "e"]


def test_a_value_over_a_quarter_of_the_capacity_is_not_kept():
    cache: SizedCache[str, bytes] = SizedCache(100, len)
    made = cache.get_or_make("big", lambda: b"x" * 26)
    assert made == b"x" * 26 and cache.get("big") is None


def test_what_is_made_once_is_given_to_each_asking():
    cache: SizedCache[tuple[str, str], str] = SizedCache(1000, len)
    calls = []
    first = cache.get_or_make(("html", "body"), lambda: calls.append(1) or "part")
    again = cache.get_or_make(("html", "body"), lambda: calls.append(1) or "other")
    assert first is again and calls == [1]
