"""DynamoDB JSON → the values a Singer RECORD carries, exactly.

Every number keeps every digit: DynamoDB sends N as decimal text (up to 38 significant
digits, magnitudes 1E-130 to 9.99E+125) and we put that text into the output JSON as a
number literal (an orjson Fragment), so no float, Decimal context or rounding is ever
involved. Binary stays the base64 text DynamoDB sent. Sets become arrays.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from orjson import Fragment

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


class DecodeError(ValueError):
    """A value that is not valid DynamoDB JSON."""


def number(text: str) -> Fragment:
    """An exact JSON number literal for DynamoDB's N text."""
    if not isinstance(text, str):
        raise DecodeError(f"{text!r} is not a DynamoDB number (N values are decimal text)")
    if _JSON_NUMBER.fullmatch(text):
        return Fragment(text)
    return Fragment(_normalize_number(text))


def _normalize_number(text: str) -> str:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise DecodeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise DecodeError(f"{text!r} is not a finite number")
    return format(value, "f")


def _list(value: list) -> list:
    return [decode_value(typed) for typed in value]


def _number_set(value: list) -> list:
    return [number(text) for text in value]


def _same(value: Any) -> Any:
    return value


def _null(value: Any) -> None:
    return None


_DECODERS = {
    "S": _same, "N": number, "BOOL": _same, "NULL": _null, "B": _same,
    "L": _list, "SS": _same, "NS": _number_set, "BS": _same,
}


def decode_value(typed: dict) -> Any:
    """One wire-form attribute value ({"N": "1.5"}) → its output value."""
    try:
        (tag, value), = typed.items()
        decoder = _DECODERS[tag]
    except (ValueError, KeyError, AttributeError):
        raise DecodeError(f"{typed!r} is not a DynamoDB attribute value") from None
    return decoder(value)


def decode_item(item: dict) -> dict:
    """A wire-form item → a record dict whose numbers serialise exactly."""
    return {name: decode_value(typed) for name, typed in item.items()}


_DECODERS["M"] = decode_item
