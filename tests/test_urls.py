"""``_urls``: the one place a request's URL is made (paths, query, join)."""

from __future__ import annotations

import pytest

from payi_async import _urls


def test_paths_check_and_encode_each_name_as_one_segment() -> None:
    assert _urls.category_path("a/b") == "/api/v1/categories/a%2Fb"
    assert _urls.resources_path("c") == "/api/v1/categories/c/resources"
    assert _urls.resource_path("c", "r?#%") == "/api/v1/categories/c/resources/r%3F%23%25"
    assert _urls.version_path("c", "r", "id 1") == "/api/v1/categories/c/resources/r/id%201"


def test_names_are_checked_in_path_order() -> None:
    with pytest.raises(TypeError, match=r"^category must be a str, not int$"):
        _urls.version_path(1, 2, 3)
    with pytest.raises(ValueError, match=r"`resource`"):
        _urls.version_path("c", "", 3)
    with pytest.raises(TypeError, match=r"^resource_id must be a str, not int$"):
        _urls.version_path("c", "r", 3)
    with pytest.raises(ValueError, match=r"^category must not be '\.\.'"):
        _urls.category_path("..")


def test_check_leaves_a_name_unencoded() -> None:
    assert _urls.check("resource", "a/b") == "a/b"
    assert _urls.segment("resource", "a/b") == "a%2Fb"


def test_join_adds_the_query_encoded() -> None:
    assert _urls.join("http://h", "/p") == "http://h/p"
    assert (
        _urls.join("http://h", "/p", [("a", "x y"), ("b", "1/2")]) == "http://h/p?a=x%20y&b=1%2F2"
    )
    assert _urls.page_query(5, True, False) == [
        ("limit", "5"),
        ("sort_ascending", "true"),
        ("Active", "false"),
    ]
    assert _urls.merge_query([[("a", "1"), ("b", "2")], [("a", "3")]]) == [("b", "2"), ("a", "3")]
