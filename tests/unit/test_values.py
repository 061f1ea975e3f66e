"""One strict reading of yes/no values: a typo is an error, never silently False."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_flink.values import parse_bool


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (None, False),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("off", False),
        ("0", False),
        ("", False),
        (1, True),
        (0, False),
    ],
)
def test_words_people_type(value: Any, expected: bool) -> None:
    assert parse_bool(value, "x") is expected


@pytest.mark.parametrize("value", ["ture", "flase", "2", "y e s", 7])
def test_anything_else_is_an_error_naming_the_field(value: Any) -> None:
    with pytest.raises(ValueError, match="must be true or false") as info:
        parse_bool(value, "allow_non_restored_state")
    assert str(info.value) == f"allow_non_restored_state must be true or false, got {value!r}"
