"""Compiled decoders for the shapes a table's items take: the fast path of RecordDecoder.

The items of a table mostly share a shape: the same attribute names, in the same order, with
the same type tags. For every shape the schema describes, a small function is compiled once
that builds the record in one dictionary display,

    {'id': item['id']['S'], 'price': num(item['price']['N']), 'tags': item['tags']['SS'], ...}

instead of calling a fitting decoder per attribute (which unpacks the typed value, tests its
tag against the schema and dispatches on it). A subscript by the expected tag is the tag
check: an item whose value has another tag raises KeyError and is decoded by the function of
its own (names, tags) shape. Maps are decoded the same way, one ShapeDecoder per object
schema; list elements keep their fitting decoders (lists mix element types).

This path only accelerates. Whatever it does not take (a value the schema does not describe,
a malformed value, a table with more shapes than SHAPES_PER_OBJECT) it gives back, and
RecordDecoder decodes that item attribute by attribute, widening or raising as before. It
reads the member a value's tag names: that a typed value has exactly one member is the
DynamoDB API's contract, which the attribute-by-attribute path checks.

Names enter the compiled source only as repr() literals, so any attribute name is safe.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from .decode import DoesNotFit, fitting_decoder
from .numbers import DecodeError, NumberReader
from .schema import Schema, scalar_tags, types_of
from .tags import AS_IS_TAGS, LIST, MAP, NUMBER, NUMBER_SET

SHAPES_PER_OBJECT = 256
"""Compiled shapes kept per object schema; items of further shapes take the generic path."""

_NOT_TAKEN = (KeyError, TypeError, AttributeError, ValueError, DoesNotFit, DecodeError)

Names = tuple[str, ...]
Shape = tuple[Names, tuple[str, ...]]  # (attribute names, their type tags), in the item's order
CompiledShape = Callable[[dict[str, Any]], dict[str, Any]]


def _null(_value: Any) -> None:
    return None


class ShapeDecoder:
    """Decodes the attribute maps one object schema describes, with one compiled function per shape.

    `decode` raises DoesNotFit (or the error a malformed value causes) for a map it does not
    take; `try_decode` returns None instead. Built for one `properties` dict: when the schema
    is widened, build a new one.
    """

    def __init__(self, properties: dict[str, Schema], to_number: NumberReader):
        self._properties = properties
        self._to_number = to_number
        self._by_names: dict[Names, CompiledShape] = {}  # the first shape compiled for these names
        self._by_shape: dict[Shape, Optional[CompiledShape]] = {}  # None: the schema does not describe it
        self._maps: dict[str, ShapeDecoder] = {}

    def try_decode(self, attributes: dict[str, Any]) -> Optional[dict[str, Any]]:
        """The record of a wire-form item, or None when the generic path must decode it."""
        try:
            return self.decode(attributes)
        except _NOT_TAKEN:
            return None

    def decode(self, attributes: dict[str, Any]) -> dict[str, Any]:
        names = tuple(attributes)
        compiled = self._by_names.get(names)
        if compiled is not None:
            try:
                return compiled(attributes)
            except KeyError:  # a value with another tag than the one compiled for: that shape's own function
                pass
        shape = (names, tuple(next(iter(typed), "") for typed in attributes.values()))
        if shape not in self._by_shape:
            if len(self._by_shape) >= SHAPES_PER_OBJECT:
                raise DoesNotFit("too many shapes to compile")
            self._by_shape[shape] = compiled = self._compile(*shape)
            if compiled is not None:
                self._by_names.setdefault(names, compiled)
        compiled = self._by_shape[shape]
        if compiled is None:
            raise DoesNotFit(shape)
        return compiled(attributes)

    def _compile(self, names: Names, tags: tuple[str, ...]) -> Optional[CompiledShape]:
        """The function decoding maps of this shape, or None when the schema does not describe it."""
        scope: dict[str, Any] = {"num": self._to_number, "null": _null}
        entries = []
        for position, (name, tag) in enumerate(zip(names, tags)):
            value = self._value_source(position, name, tag, scope)
            if value is None:
                return None
            entries.append(f"{name!r}: {value}")
        source = "def decode(item):\n    return {" + ", ".join(entries) + "}\n"
        exec(compile(source, "<tap_dynamodb.item_shapes>", "exec"), scope)  # noqa: S102 - names are repr() literals
        decode: CompiledShape = scope["decode"]
        return decode

    def _value_source(self, position: int, name: str, tag: str, scope: dict[str, Any]) -> Optional[str]:
        """Python source decoding `item[name]` when its tag is `tag`; None when the schema does not allow it."""
        schema = self._properties.get(name)
        if schema is None:
            return None
        member = f"item[{name!r}][{tag!r}]"
        if tag in scalar_tags(schema):
            if tag in AS_IS_TAGS:
                return member
            if tag == NUMBER:
                return f"num({member})"
            if tag == NUMBER_SET:
                return f"list(map(num, {member}))"
            return f"null({member})"  # NULL
        kinds = set(types_of(schema))
        if tag == MAP and "object" in kinds:
            scope[f"map{position}"] = self._map_decoder(name, schema).decode
            return f"map{position}({member})"
        if tag == LIST and "array" in kinds:
            scope[f"element{position}"] = fitting_decoder(schema.get("items"), self._to_number)
            return f"[element{position}(value) for value in {member}]"
        return None

    def _map_decoder(self, name: str, schema: Schema) -> ShapeDecoder:
        decoder = self._maps.get(name)
        if decoder is None:
            decoder = self._maps[name] = ShapeDecoder(schema.get("properties", {}), self._to_number)
        return decoder
