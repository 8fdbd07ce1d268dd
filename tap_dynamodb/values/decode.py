"""Wire-form attribute values → the values a Singer RECORD carries, exactly.

Binary stays the base64 text DynamoDB sent, sets become arrays, numbers become exact JSON
literals (numbers.py). This is the tap's hottest code after the compiled shapes (shapes.py),
so a value is decoded by one function call with the common tags tested first, in the order
of the table in tags.py.

Two kinds of decoder: `plain_decoder` decodes any value; `fitting_decoder` decodes only the
values a JSON schema describes and raises DoesNotFit for the others, which is how sync-time
widening finds what the schema lacks in the same walk that decodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Callable, Optional

from .numbers import JSON_NUMBERS, NUMBER_FORMATS, DecodeError, NumberReader, number_reader
from .schema import scalar_tags, types_of
from .tags import ALL_TAGS, AS_IS_TAGS, LIST, MAP, NUMBER, NUMBER_SET

ValueDecoder = Callable[[dict[str, Any]], Any]
Record = dict[str, Any]


class DoesNotFit(Exception):
    """A value a fitting decoder's schema does not describe."""


def _unpack(typed: Any) -> tuple[str, Any]:
    try:
        ((tag, value),) = typed.items()
    except (ValueError, AttributeError):
        raise DecodeError(f"{typed!r} is not a DynamoDB attribute value") from None
    return tag, value


def plain_decoder(to_number: NumberReader) -> ValueDecoder:
    """A decoder of any wire-form attribute value, turning N text into numbers with `to_number`."""

    def decode_value(typed: dict[str, Any]) -> Any:
        tag, value = _unpack(typed)
        if tag in AS_IS_TAGS:
            return value
        if tag == NUMBER:
            return to_number(value)
        if tag == MAP:
            return {name: decode_value(item) for name, item in value.items()}
        if tag == LIST:
            return [decode_value(item) for item in value]
        if tag == NUMBER_SET:
            return list(map(to_number, value))
        if tag in ALL_TAGS:
            return None  # NULL
        raise DecodeError(f"{typed!r} is not a DynamoDB attribute value")

    return decode_value


_PLAIN = {
    (checked, number_format): plain_decoder(number_reader(checked, number_format))
    for checked in (False, True)
    for number_format in NUMBER_FORMATS
}


def plain_value_decoder(numbers_checked: bool, number_format: str = JSON_NUMBERS) -> ValueDecoder:
    """The plain decoder for a page whose numbers were (or were not) checked by numbers_are_json."""
    return _PLAIN[numbers_checked, number_format]


def decode_items(
    items: Iterable[dict[str, Any]], numbers_checked: bool = False, number_format: str = JSON_NUMBERS
) -> list[Record]:
    """Many wire-form items → records; `numbers_checked` when `numbers_are_json` passed their page."""
    value = _PLAIN[numbers_checked, number_format]
    return [{name: value(typed) for name, typed in item.items()} for item in items]


def _shaped_decoder(
    tags: frozenset[str],
    members: Optional[dict[str, ValueDecoder]],
    element: Optional[ValueDecoder],
    to_number: NumberReader,
) -> ValueDecoder:
    """Accepts the scalar and set `tags` whole, maps whose every key has a decoder in `members`,
    lists whose every element `element` accepts; raises DoesNotFit otherwise."""

    def decode_value(typed: dict[str, Any]) -> Any:
        tag, value = _unpack(typed)
        if tag in tags:
            if tag in AS_IS_TAGS:
                return value
            if tag == NUMBER:
                return to_number(value)
            if tag == NUMBER_SET:
                return list(map(to_number, value))
            return None  # NULL
        if tag == MAP and members is not None:
            out = {}
            for name, item in value.items():
                member = members.get(name)
                if member is None:
                    raise DoesNotFit(name)
                out[name] = member(item)
            return out
        if tag == LIST and element is not None:
            return [element(item) for item in value]
        if tag not in ALL_TAGS:
            raise DecodeError(f"{typed!r} is not a DynamoDB attribute value")
        raise DoesNotFit(tag)

    return decode_value


def fitting_decoder(schema: Optional[dict[str, Any]], to_number: NumberReader) -> ValueDecoder:
    """Decodes a value the schema describes, else raises DoesNotFit, in one walk.

    A value fits when merging its schema into `schema` would add nothing: a map key missing
    from `properties` or an element type missing from `items` does not fit.
    """
    schema = schema or {}
    kinds = set(types_of(schema))
    members = (
        {name: fitting_decoder(sub, to_number) for name, sub in schema.get("properties", {}).items()}
        if "object" in kinds
        else None
    )
    element = fitting_decoder(schema.get("items"), to_number) if "array" in kinds else None
    return _shaped_decoder(scalar_tags(schema), members, element, to_number)
