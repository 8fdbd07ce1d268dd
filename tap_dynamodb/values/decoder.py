"""One decoder per stream: wire-form items → records, widening the stream's schema as it goes.

Items are not bound to the sample discovery saw. `RecordDecoder.decode` decodes a batch of
items (a page, or a chunk of one) with decoders compiled from the current schema (shapes.py,
decode.fitting_decoder). A value such a decoder does not accept (an attribute or a type the
schema lacks) widens the schema (merged, never narrowed), and `decode` says so, so that the
caller writes a SCHEMA message before that batch's records. Nothing is ever dropped.
Checking and decoding in one walk keeps the check nearly free on the hot path.

With number_format "string" N values are decoded as their text. The decoders still keep and
widen the schema with N as "number" (so what fits is decided exactly as in the "number" format),
and `schema` is what the records are written under (schema.records_schema): a widening that
leaves it unchanged (a number where strings were) writes no SCHEMA.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol

from .decode import DoesNotFit, Record, ValueDecoder, decode_items, fitting_decoder, plain_value_decoder
from .numbers import JSON_NUMBERS, TEXT_NUMBERS, number_reader
from .schema import Schema, is_open, merge, nullable, records_schema, value_schema
from .shapes import ShapeDecoder


class Decoded(NamedTuple):
    records: list[Record]
    widened: bool  # the schema changed for these records: write SCHEMA before them


class ItemDecoder(Protocol):
    """What decodes a stream's pages: RecordDecoder (columns) or values.packed.PackedDecoder (packed) for
    items, values.changes.ChangeDecoder (around either) for stream records."""

    @property
    def schema(self) -> Schema: ...

    def decode(self, items: Iterable[dict[str, Any]], numbers_checked: bool = False) -> Decoded: ...


class RecordDecoder:
    """Keeps one stream's schema wide enough for the items it decodes.

    The schema given is widened in place, so whoever holds it (the stream plan) sees the
    widened schema; a schema without `properties` accepts everything and is left alone.
    `number_format` (the config key) says how N values are written: "number" or "string".
    """

    def __init__(self, schema: Schema, number_format: str = JSON_NUMBERS):
        self._schema = schema  # N as "number", widened in place
        self._number_format = number_format
        self._as_text = number_format == TEXT_NUMBERS
        self._written = records_schema(schema, number_format)  # `schema` itself for "number"
        self._open = is_open(schema)
        self._decoders: dict[bool, dict[str, ValueDecoder]] = {}  # {numbers_checked: {name: fitting decoder}}
        self._shapes: dict[bool, ShapeDecoder] = {}  # {numbers_checked: ...}, dropped when the schema widens

    @property
    def schema(self) -> Schema:
        """The schema the records are written under (for "number", the schema given, as widened)."""
        return self._written

    def _fitting_decoders(self, numbers_checked: bool) -> dict[str, ValueDecoder]:
        decoders = self._decoders.get(numbers_checked)
        if decoders is None:
            to_number = number_reader(numbers_checked, self._number_format)
            decoders = self._decoders[numbers_checked] = {
                name: fitting_decoder(sub, to_number) for name, sub in self._schema["properties"].items()
            }
        return decoders

    def _shape_decoder(self, numbers_checked: bool) -> ShapeDecoder:
        shapes = self._shapes.get(numbers_checked)
        if shapes is None:
            shapes = self._shapes[numbers_checked] = ShapeDecoder(
                self._schema["properties"], number_reader(numbers_checked, self._number_format)
            )
        return shapes

    def decode(self, items: Iterable[dict[str, Any]], numbers_checked: bool = False) -> Decoded:
        """Wire-form items as records, and whether the schema had to widen for them.

        An item of a shape the schema describes is decoded by that shape's compiled function.
        Any other is decoded attribute by attribute: a value the schema describes by its
        property's fitting decoder; one it does not widens the schema and is decoded plainly.
        """
        if self._open:
            return Decoded(decode_items(items, numbers_checked, self._number_format), False)
        shapes = self._shape_decoder(numbers_checked)
        decoders = self._fitting_decoders(numbers_checked)
        plain = plain_value_decoder(numbers_checked, self._number_format)
        widened = False
        out = []
        for item in items:
            record = shapes.try_decode(item)
            if record is not None:
                out.append(record)
                continue
            record = {}
            for name, typed in item.items():
                decode = decoders.get(name)
                if decode is not None:
                    try:
                        record[name] = decode(typed)
                        continue
                    except DoesNotFit:
                        pass
                self._widen(name, typed)  # also gives `decoders` one for the widened property
                shapes = self._shape_decoder(numbers_checked)  # compiled for the widened schema
                widened = True
                record[name] = plain(typed)
            out.append(record)
        if widened and self._as_text:
            written = records_schema(self._schema, self._number_format)
            widened, self._written = written != self._written, written
        return Decoded(out, widened)

    def _widen(self, name: str, typed: dict[str, Any]) -> None:
        """Merge one value into its property's schema and give the property its new decoders."""
        properties = self._schema["properties"]
        properties[name] = merge(properties.get(name), nullable(value_schema(typed)))
        for numbers_checked, decoders in self._decoders.items():
            decoders[name] = fitting_decoder(properties[name], number_reader(numbers_checked, self._number_format))
        self._shapes.clear()
