import pytest

from services.ses_sim.errors import InvalidNextToken, InvalidValue
from services.ses_sim.paging import one_page, page_size_of

NAMES = ["d", "a", "c", "b", "e"]


def pages(items, size):
    seen, token = [], None
    while True:
        page, token = one_page(items, str, size, token)
        seen.append(page)
        if token is None:
            return seen


def test_items_come_sorted_in_pages_of_the_size_asked():
    assert pages(NAMES, 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert pages(NAMES, 5) == [["a", "b", "c", "d", "e"]]
    assert pages([], 3) == [[]]


def test_a_token_names_a_position_so_changes_between_pages_neither_repeat_nor_hide():
    first, token = one_page(NAMES, str, 2, None)
    assert first == ["a", "b"]
    changed = ["b", "c", "e", "f", "bb"]  # a deleted, bb and f added
    assert one_page(changed, str, 10, token)[0] == ["bb", "c", "e", "f"]


@pytest.mark.parametrize("token", ["not base64!", "bm9wZQ==", "", "c2VzLXNpbToy"])
def test_a_token_it_did_not_make_is_refused(token):
    if token == "":
        assert one_page(NAMES, str, 2, token)[0] == ["a", "b"]  # empty is no token
        return
    with pytest.raises(InvalidNextToken):
        one_page(NAMES, str, 2, token)


@pytest.mark.parametrize("value", [0, -1, 101, True, "5"])
def test_page_size_must_be_in_range(value):
    with pytest.raises(InvalidValue) as refused:
        page_size_of(value, 10, 100)
    assert refused.value.field == "PageSize"


def test_page_size_defaults():
    assert page_size_of(None, 10, 100) == 10 and page_size_of(100, 10, 100) == 100
