"""DynamoDB JSON → the values a Singer RECORD carries, exactly.

Every number keeps every digit: DynamoDB sends N as decimal text (up to 38 significant
digits, magnitudes 1E-130 to 9.99E+125) and we put that text into the output JSON as a
number literal (an orjson Fragment), so no float, Decimal context or rounding is ever
involved. Binary stays the base64 text DynamoDB sent. Sets become arrays.

This is the tap's hottest code (every attribute value of every item passes through it), so
a value is decoded by one function call with the common tags tested first. A Fragment is
written verbatim, so N text must be a valid JSON number: rather than checking every number
on its own (a third of the decoding time), `numbers_are_json` checks a whole raw page with
one regular-expression scan, and only pages that fail it are checked number by number.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, List, Optional

from orjson import Fragment

_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_JSON_NUMBER = re.compile(_NUMBER)
_QUOTED = rb'\s*"' + _NUMBER.encode() + rb'"\s*'
# Each pattern finds an N or NS value that is not (a list of) JSON number text. Inside a JSON
# string every quote is escaped, so `"N":` and `"NS":` can only be keys. A key spelt with
# escapes (\u004e is N, \u0053 is S) would hide from the scan, so an escaped N or S anywhere
# counts as odd, as does a map attribute named N or NS: such pages merely take the
# number-by-number path. Each search has a literal prefix (`"N` serves N and NS in one scan):
# the prefix scan is most of the cost, and one alternation without a common prefix was 3× slower.
_ODD_NUMBERS = (re.compile(rb'"N(?:"\s*:(?!' + _QUOTED + rb'[,}])|S"\s*:\s*\[(?!' + _QUOTED + rb'(?:,' + _QUOTED
                           + rb')*\]))'),
                re.compile(rb'\\u00(?:4[eE]|53)'))

AS_IS_TAGS = frozenset(("S", "B", "BOOL", "SS", "BS"))
"""Tags whose value is already its output value (strings, base64 text, booleans, string sets)."""
_TAGS = frozenset(("S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"))


class DecodeError(ValueError):
    """A value that is not valid DynamoDB JSON."""


class DoesNotFit(Exception):
    """A value a shaped decoder's schema does not describe (see shaped_decoder)."""


def numbers_are_json(body: bytes) -> bool:
    """True when every N and NS value in a raw DynamoDB JSON body is already JSON number text."""
    return not any(pattern.search(body) for pattern in _ODD_NUMBERS)


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
    except (InvalidOperation, AttributeError, TypeError):
        raise DecodeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise DecodeError(f"{text!r} is not a finite number")
    return format(value, "f")


def _value_decoder(to_number: Callable[[str], Fragment]) -> Callable[[dict], Any]:
    """A decoder of wire-form attribute values that turns N text into numbers with `to_number`."""

    def decode_value(typed: dict) -> Any:
        try:
            (tag, value), = typed.items()
        except (ValueError, AttributeError):
            raise DecodeError(f"{typed!r} is not a DynamoDB attribute value") from None
        if tag in AS_IS_TAGS:
            return value
        if tag == "N":
            return to_number(value)
        if tag == "M":
            return {name: decode_value(item) for name, item in value.items()}
        if tag == "L":
            return [decode_value(item) for item in value]
        if tag == "NS":
            return list(map(to_number, value))
        if tag == "NULL":
            return None
        raise DecodeError(f"{typed!r} is not a DynamoDB attribute value")

    return decode_value


def shaped_decoder(tags: frozenset, members: Optional[dict], element: Optional[Callable[[dict], Any]],
                   to_number: Callable[[str], Fragment]) -> Callable[[dict], Any]:
    """A decoder for values of one schema, which also checks that the schema describes them.

    It accepts the scalar and set `tags` whole, maps whose every key has a decoder in
    `members`, lists whose every element `element` accepts, and raises DoesNotFit otherwise.
    Sync-time schema widening needs that check for every value it decodes: doing both in one
    walk costs little more than decoding alone (schema.fitting_decoder builds these).
    """

    def decode_value(typed: dict) -> Any:
        try:
            (tag, value), = typed.items()
        except (ValueError, AttributeError):
            raise DecodeError(f"{typed!r} is not a DynamoDB attribute value") from None
        if tag in tags:
            if tag in AS_IS_TAGS:
                return value
            if tag == "N":
                return to_number(value)
            if tag == "NS":
                return list(map(to_number, value))
            return None  # NULL
        if tag == "M" and members is not None:
            out = {}
            for name, item in value.items():
                member = members.get(name)
                if member is None:
                    raise DoesNotFit(name)
                out[name] = member(item)
            return out
        if tag == "L" and element is not None:
            return [element(item) for item in value]
        if tag not in _TAGS:
            raise DecodeError(f"{typed!r} is not a DynamoDB attribute value")
        raise DoesNotFit(tag)

    return decode_value


decode_value = _value_decoder(number)
"""One wire-form attribute value ({"N": "1.5"}) → its output value."""

_decode_value_json_numbers = _value_decoder(Fragment)


def number_reader(numbers_checked: bool) -> Callable[[str], Fragment]:
    """How N text becomes a number: as is when `numbers_are_json` passed its page, else checked."""
    return Fragment if numbers_checked else number


def decode_item(item: dict) -> dict:
    """A wire-form item → a record dict whose numbers serialise exactly."""
    return {name: decode_value(typed) for name, typed in item.items()}


def decode_value_reading(numbers_checked: bool) -> Callable[[dict], Any]:
    """decode_value, or its twin that takes N text as is when `numbers_are_json` passed the page."""
    return _decode_value_json_numbers if numbers_checked else decode_value


def decode_items(items: Iterable[dict], numbers_checked: bool = False) -> List[dict]:
    """Many wire-form items → records; `numbers_checked` when `numbers_are_json` passed their page."""
    value = decode_value_reading(numbers_checked)
    return [{name: value(typed) for name, typed in item.items()} for item in items]
