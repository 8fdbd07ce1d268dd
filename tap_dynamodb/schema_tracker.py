"""Schema widening at sync time: items are not bound to the sample discovery saw.

`SchemaTracker.records` decodes a batch of items (a page, or a chunk of one) with decoders
compiled from the current schema (item_shapes, schema.fitting_decoder). A value such a
decoder does not accept (an attribute or a type the schema lacks) widens the schema (merged,
never narrowed) and a SCHEMA message is written, once per batch that changes it, before any
of that batch's records. Nothing is ever dropped. Checking and decoding in one walk keeps the
check nearly free on the hot path.
"""

from __future__ import annotations

from typing import Iterable

from . import schema as schema_mod
from .decode import DoesNotFit, decode_items, decode_value_reading, number_reader
from .item_shapes import ShapeDecoder


class SchemaTracker:
    """Keeps one stream's schema wide enough for the items it sees.

    The schema dict is widened in place, so whoever holds it (the StreamPlan) sees the
    widened schema; a schema without `properties` accepts everything and is left alone.
    """

    def __init__(self, stream: str, schema: dict, key_properties: list, writer):
        self.stream = stream
        self.schema = schema
        self.key_properties = list(key_properties)
        self.writer = writer
        self.schemas_written = 0
        self._open = schema_mod.is_open(schema)
        self._decoders: dict = {}  # {numbers_checked: {name: fitting decoder}}, built when first needed
        self._shapes: dict = {}  # {numbers_checked: ShapeDecoder}, dropped when the schema widens

    def _learn(self, name: str, sub: dict) -> None:
        """Give the widened property `name` its new fitting decoders."""
        for numbers_checked, decoders in self._decoders.items():
            decoders[name] = schema_mod.fitting_decoder(sub, number_reader(numbers_checked))
        self._shapes.clear()

    def _fitting_decoders(self, numbers_checked: bool) -> dict:
        decoders = self._decoders.get(numbers_checked)
        if decoders is None:
            to_number = number_reader(numbers_checked)
            decoders = self._decoders[numbers_checked] = {
                name: schema_mod.fitting_decoder(sub, to_number) for name, sub in self.schema["properties"].items()}
        return decoders

    def _shape_decoder(self, numbers_checked: bool) -> ShapeDecoder:
        shapes = self._shapes.get(numbers_checked)
        if shapes is None:
            shapes = self._shapes[numbers_checked] = ShapeDecoder(self.schema["properties"],
                                                                  number_reader(numbers_checked))
        return shapes

    def records(self, items: Iterable[dict], numbers_checked: bool = False) -> list:
        """A page of wire-form items as records, the schema widened (SCHEMA written) for them first.

        An item of a shape the schema describes is decoded by that shape's compiled function
        (item_shapes). Any other is decoded attribute by attribute: a value the schema
        describes by its property's fitting decoder; one it does not widens the schema and is
        decoded plainly. Checking while decoding, in one walk, keeps the check nearly free.
        """
        if self._open:
            return decode_items(items, numbers_checked)
        shapes = self._shape_decoder(numbers_checked)
        decoders = self._fitting_decoders(numbers_checked)
        plain = decode_value_reading(numbers_checked)
        changed = False
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
                changed = True
                record[name] = plain(typed)
            out.append(record)
        if changed:
            self.writer.schema(self.stream, self.schema, self.key_properties)
            self.schemas_written += 1
        return out

    def _widen(self, name: str, typed: dict) -> None:
        """Merge one value into its property's schema."""
        properties = self.schema["properties"]
        properties[name] = schema_mod.merge(properties.get(name),
                                            schema_mod.nullable(schema_mod.value_schema(typed)))
        self._learn(name, properties[name])
