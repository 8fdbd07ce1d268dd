"""Column selection: which attributes a Scan (and a stream image) keeps.

Two ways to ask for it, both turned into the same `Projection`:
- Meltano style: field metadata `selected: false` on a top-level property leaves it out;
- Stitch style: a projection expression in the top-level metadata key `tap-mongodb.projection`
  (that is the key Stitch reads) with aliases in `tap-dynamodb.expression-attributes`
  (a JSON object of "#alias" → attribute name), including nested paths (`m.x`) and list
  indexes (`l[0]`).
Key properties are always kept. The expression sent to DynamoDB aliases only the names that
need it (#p0, #p1, ...): reserved words (`name`, `date`, in any case; reserved.py) and names
that are not plain identifiers (a letter, then letters, digits or _), such as ones with dots,
spaces or non-ASCII letters. Every other name goes as written, so a Stitch expression of plain
names reaches DynamoDB as the user wrote it.

DynamoDB refuses a ProjectionExpression over 4 KB (MAX_EXPRESSION_LENGTH). A projection whose
expression cannot fit is applied client-side: the Scan reads whole items and the reader keeps
what `Projection.apply` keeps (a projection saves bandwidth, not read capacity: a Scan consumes
capacity for whole items either way). `Projection.apply` does to a wire-form item what DynamoDB
does to a scanned one, so the records are the same, and a stream image (LOG_BASED) carries
exactly the attributes a Scan would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, Optional, Union

from ..errors import TapError
from ..page import WireItem
from ..values.filters import NAMES_KEY, metadata_object
from .reserved import RESERVED_WORDS

STITCH_PROJECTION_KEY = "tap-mongodb.projection"
STITCH_NAMES_KEY = NAMES_KEY  # shared with the row filter's expression

Step = Union[str, int]  # an attribute (map key) name or a list index
DocPath = tuple[Step, ...]
Tree = dict[Any, Any]  # keys: Step; step → subtree (a Tree) or None (the whole value)
_ELEMENT = re.compile(r"(#?)([^\s.\[\]#,]+)\s*((?:\[\s*\d+\s*\]\s*)*)")
_INDEX = re.compile(r"\d+")
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

MAX_EXPRESSION_LENGTH = 4096
"""DynamoDB's limit on an expression (4 KB); the expression is ASCII (names that are not are aliased)."""

Projector = Callable[[WireItem], WireItem]


class Projection:
    """A set of document paths, as a ProjectionExpression and as a client-side filter."""

    def __init__(self, paths: Iterable[Sequence[Step]]):
        self.paths = [tuple(path) for path in paths]
        self._tree = _path_tree(self.paths)
        aliases: dict[str, str] = {}
        self.expression = ", ".join(_path_expression(path, aliases) for path in self.paths)
        self.names = {alias: name for name, alias in aliases.items()}

    @property
    def top_level_names(self) -> set[str]:
        """The attributes whose (whole or partial) value the projection keeps."""
        return set(self._tree)

    @property
    def server_side(self) -> bool:
        """True when DynamoDB takes the expression (it is at most MAX_EXPRESSION_LENGTH long)."""
        return len(self.expression) <= MAX_EXPRESSION_LENGTH

    @property
    def client_side(self) -> Optional[Projector]:
        """`apply`, which the scan must run on every item when the expression cannot be sent; else None."""
        return None if self.server_side else self.apply

    def scan_params(self) -> dict[str, Any]:
        """The Scan parameters of the projection; none when it must be applied client-side."""
        if not self.server_side:
            return {}
        params: dict[str, Any] = {"ProjectionExpression": self.expression}
        if self.names:  # DynamoDB refuses an empty ExpressionAttributeNames
            params["ExpressionAttributeNames"] = dict(self.names)
        return params

    def apply(self, item: WireItem) -> WireItem:
        """The projection of a wire-form item, as DynamoDB would return it from a Scan.

        A nested map path keeps the enclosing maps with only the projected keys; list index
        paths keep the listed elements in index order; a path that does not resolve (missing
        attribute, index out of range, wrong type) contributes nothing, and an enclosing map
        or list left empty is dropped.
        """
        return _project_attributes(item, self._tree)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Projection) and self.paths == other.paths

    def __repr__(self) -> str:
        return f"Projection({self.paths!r})"


def needs_alias(name: str) -> bool:
    """True when DynamoDB cannot take the name as written: a reserved word, or not a plain identifier."""
    return not _PLAIN_NAME.fullmatch(name) or name.upper() in RESERVED_WORDS


def _path_expression(path: DocPath, aliases: dict[str, str]) -> str:
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            name = aliases.setdefault(step, f"#p{len(aliases)}") if needs_alias(step) else step
            text += ("." if text else "") + name
    return text


def _path_tree(paths: list[DocPath]) -> Tree:
    """Nested {step: subtree or None (the whole value)}; refuses paths DynamoDB would refuse."""
    tree: Tree = {}
    for path in paths:
        node = tree
        for position, step in enumerate(path):
            last = position == len(path) - 1
            if node and isinstance(next(iter(node)), int) != isinstance(step, int):
                raise TapError(
                    f"projection paths conflict at {_describe(path[: position + 1])}: one indexes a "
                    "list, another names a map key; rewrite one of them"
                )
            if step in node and (last or node[step] is None):
                raise TapError(
                    f"projection paths overlap at {_describe(path[: position + 1])}; a path must not "
                    "repeat or contain another"
                )
            if last:
                node[step] = None
            else:
                node = node.setdefault(step, {})
    return tree


def _describe(path: DocPath) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else (("." if i else "") + s) for i, s in enumerate(path))


def _project_attributes(attributes: WireItem, node: Tree) -> WireItem:
    out = {}
    for name, child in node.items():
        typed = attributes.get(name)
        if typed is None:
            continue
        if child is None:
            out[name] = typed
            continue
        kept = _project_value(typed, child)
        if kept is not None:
            out[name] = kept
    return out


def _project_value(typed: Any, node: Tree) -> Optional[dict[str, Any]]:
    if isinstance(next(iter(node)), int):
        elements = typed.get("L") if isinstance(typed, dict) else None
        if not isinstance(elements, list):
            return None
        kept = []
        for index in sorted(node):
            if index < len(elements):
                child = node[index]
                value = elements[index] if child is None else _project_value(elements[index], child)
                if value is not None:
                    kept.append(value)
        return {"L": kept} if kept else None
    members = typed.get("M") if isinstance(typed, dict) else None
    if not isinstance(members, dict):
        return None
    kept_members = _project_attributes(members, node)
    return {"M": kept_members} if kept_members else None


# --------------------------------------------------------------------------
# Stitch style: an expression with #aliases
# --------------------------------------------------------------------------


def parse_names(stream: str, raw: Any) -> dict[str, str]:
    """`tap-dynamodb.expression-attributes` (object or JSON text) → {"#alias": name}."""
    raw = metadata_object(stream, STITCH_NAMES_KEY, raw, '{"#n": "name"}')
    if not raw:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in raw.items()):
        raise TapError(
            f'stream {stream}: metadata {STITCH_NAMES_KEY} must be a JSON object mapping "#alias" '
            'to an attribute name, like {"#n": "name"}'
        )
    for alias in raw:
        if not re.fullmatch(r"#[A-Za-z0-9_]+", alias):
            raise TapError(
                f"stream {stream}: metadata {STITCH_NAMES_KEY} has alias {alias!r}; an alias is # "
                'followed by letters, digits or _, like "#n"'
            )
    return raw


def parse_expression(
    stream: str, expression: Any, names: dict[str, str], filter_names: frozenset[str] = frozenset()
) -> list[DocPath]:
    """A Stitch projection expression ("a, m.x, l[0], #n") → paths of resolved steps.

    `filter_names` are the aliases the stream's filter expression uses (they share the names).
    """
    if not isinstance(expression, str) or not expression.strip():
        raise TapError(f'stream {stream}: metadata {STITCH_PROJECTION_KEY} must be a string like "a, b.c, #n"')
    used: set[str] = set()
    paths = [_parse_path(stream, text.strip(), names, used) for text in expression.split(",")]
    unused = sorted(set(names) - used - filter_names)
    if unused:
        raise TapError(
            f"stream {stream}: metadata {STITCH_NAMES_KEY} defines {', '.join(unused)} but "
            f"{STITCH_PROJECTION_KEY} does not use {'it' if len(unused) == 1 else 'them'}"
            f"{' (nor does the filter expression)' if filter_names else ''}; remove unused aliases"
        )
    return paths


def _parse_path(stream: str, text: str, names: dict[str, str], used: set[str]) -> DocPath:
    if not text:
        raise TapError(
            f"stream {stream}: metadata {STITCH_PROJECTION_KEY} has an empty path (two commas in a "
            "row, or a trailing comma)"
        )
    steps: list[Step] = []
    for element in text.split("."):
        match = _ELEMENT.fullmatch(element.strip())
        if not match:
            raise TapError(
                f"stream {stream}: metadata {STITCH_PROJECTION_KEY} path {text!r} is not valid; write "
                "paths like a, m.x, l[0] or #alias"
            )
        is_alias, name, indexes = match.groups()
        if is_alias:
            alias = "#" + name
            if alias not in names:
                raise TapError(
                    f"stream {stream}: {STITCH_PROJECTION_KEY} uses {alias}, which {STITCH_NAMES_KEY} "
                    f'does not define; add it, e.g. {{"{alias}": "attribute name"}}'
                )
            used.add(alias)
            name = names[alias]
        steps.append(name)
        steps.extend(int(i) for i in _INDEX.findall(indexes))
    return tuple(steps)


# --------------------------------------------------------------------------
# What a catalog entry asks for
# --------------------------------------------------------------------------


def deselected_properties(
    field_metadata: Mapping[tuple[str, ...], dict[str, Any]], key_properties: list[str]
) -> list[str]:
    """Top-level properties the catalog leaves out (Meltano's `!stream.property`); never a key."""
    out = []
    for breadcrumb, md in field_metadata.items():
        if len(breadcrumb) != 2 or breadcrumb[0] != "properties" or breadcrumb[1] in key_properties:
            continue
        if md.get("inclusion") == "automatic":
            continue
        if md.get("selected", md.get("selected-by-default", True)) is False:
            out.append(breadcrumb[1])
    return out


def _with_keys(paths: list[DocPath], key_properties: list[str]) -> list[DocPath]:
    heads = {path[0] for path in paths}
    return list(paths) + [(key,) for key in key_properties if key not in heads]


def for_stream(
    stream: str,
    metadata: Mapping[tuple[str, ...], dict[str, Any]],
    key_properties: list[str],
    properties: list[str],
    filter_names: frozenset[str] = frozenset(),
    names: Optional[dict[str, str]] = None,
) -> Optional[Projection]:
    """The projection a catalog entry asks for, or None to read every attribute.

    `metadata` maps breadcrumb tuples to metadata; `properties` are the schema's top-level
    property names. A Stitch expression wins over field selection; without either, or when
    nothing is deselected, every attribute is read (including ones discovery never saw).
    `filter_names` are the aliases the stream's filter expression uses (values/filters.py);
    `names` the parsed `tap-dynamodb.expression-attributes`, when the caller has them already.
    """
    top = metadata.get((), {})
    expression = top.get(STITCH_PROJECTION_KEY)
    if names is None:
        names = parse_names(stream, top.get(STITCH_NAMES_KEY))
    if expression not in (None, ""):
        return Projection(_with_keys(parse_expression(stream, expression, names, filter_names), key_properties))
    unused = sorted(set(names) - filter_names)
    if unused and filter_names:
        raise TapError(
            f"stream {stream}: metadata {STITCH_NAMES_KEY} defines {', '.join(unused)} but the filter "
            f"expression does not use {'it' if len(unused) == 1 else 'them'}; remove unused aliases"
        )
    if unused:
        raise TapError(
            f"stream {stream}: metadata {STITCH_NAMES_KEY} is set but {STITCH_PROJECTION_KEY} is not; "
            "set the projection expression or remove the aliases"
        )
    deselected = set(deselected_properties(metadata, key_properties))
    if not deselected:
        return None
    kept = [name for name in properties if name not in deselected]
    return Projection(_with_keys([(name,) for name in kept], key_properties))
