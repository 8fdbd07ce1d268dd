"""DynamoDB numbers → exact JSON number literals, and the page-level check that lets most skip the work.

Every number keeps every digit: DynamoDB sends N as decimal text (up to 38 significant
digits, magnitudes 1E-130 to 9.99E+125) and we put that text into the output JSON as a
number literal (an orjson Fragment), so no float, Decimal context or rounding is ever
involved. A Fragment is written verbatim, so N text must be a valid JSON number: rather than
checking every number on its own (a third of the decoding time), `numbers_are_json` checks a
whole raw page with one regular-expression scan, and only pages that fail it are checked
number by number.

`number_format` "string" (for targets that load JSON numbers as DOUBLE) writes the same text as
a JSON string instead: the digits are the ones the "number" format writes, only quoted. The
schema side of it is schema.records_schema; see docs/numbers.md.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Callable, Union

from orjson import Fragment

_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_JSON_NUMBER = re.compile(_NUMBER)
_QUOTED = rb'\s*"' + _NUMBER.encode() + rb'"\s*'
# Each pattern finds an N or NS value that is not (a list of) JSON number text. Inside a JSON
# string every quote is escaped, so `"N":` and `"NS":` can only be keys. A key spelt with
# escapes (\u004e is N, \u0053 is S) would hide from the scan, so an escaped N or S anywhere
# counts as odd, as does a map attribute named N or NS: such pages merely take the
# number-by-number path. Each search has a literal prefix (`"N` serves N and NS in one scan):
# the prefix scan is most of the cost, and one alternation without a common prefix was slower.
_ODD_NUMBERS = (
    re.compile(rb'"N(?:"\s*:(?!' + _QUOTED + rb'[,}])|S"\s*:\s*\[(?!' + _QUOTED + rb"(?:," + _QUOTED + rb")*\]))"),
    re.compile(rb"\\u00(?:4[eE]|53)"),
)

NumberReader = Callable[[str], Union[Fragment, str]]
"""How N text becomes an output number: a JSON number literal (Fragment) or, as text, a str."""

JSON_NUMBERS, TEXT_NUMBERS = "number", "string"
NUMBER_FORMATS = (JSON_NUMBERS, TEXT_NUMBERS)
"""The config key number_format: exact JSON numbers (the default) or their exact decimal text."""


class DecodeError(ValueError):
    """A value that is not valid DynamoDB JSON."""


def numbers_are_json(body: bytes) -> bool:
    """True when every N and NS value in a raw DynamoDB JSON body is already JSON number text."""
    return not any(pattern.search(body) for pattern in _ODD_NUMBERS)


def number(text: str) -> Fragment:
    """An exact JSON number literal for DynamoDB's N text, checked."""
    if not isinstance(text, str):
        raise DecodeError(f"{text!r} is not a DynamoDB number (N values are decimal text)")
    if _JSON_NUMBER.fullmatch(text):
        return Fragment(text)
    return Fragment(_normalize_number(text))


def number_text(text: str) -> str:
    """The text `number` writes for DynamoDB's N text, checked, as a string."""
    if not isinstance(text, str):
        raise DecodeError(f"{text!r} is not a DynamoDB number (N values are decimal text)")
    if _JSON_NUMBER.fullmatch(text):
        return text
    return _normalize_number(text)


def _normalize_number(text: str) -> str:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError, TypeError):
        raise DecodeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise DecodeError(f"{text!r} is not a finite number")
    return format(value, "f")


def number_reader(numbers_checked: bool, number_format: str = JSON_NUMBERS) -> NumberReader:
    """As is when `numbers_are_json` passed the page, else checked number by number.

    As JSON number literals, or with number_format "string" as their text (`str` of a str is
    the str itself: the checked text as is).
    """
    if number_format == TEXT_NUMBERS:
        return str if numbers_checked else number_text
    return Fragment if numbers_checked else number
