"""Values people type (connection extras, templated operator arguments), read one strict way."""

from __future__ import annotations

from typing import Any

TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off", ""})


def parse_bool(value: Any, what: str) -> bool:
    """``True``/``False``, or one of the words above (any case); anything else is an error, so a
    typo such as "ture" is reported instead of being read as False."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"{what} must be true or false, got {value!r}")
