"""Row filters: a DynamoDB filter (condition) expression, parsed, checked and evaluated client-side.

Catalog metadata (breadcrumb []): `tap-dynamodb.filter-expression` (the expression),
`tap-dynamodb.expression-values` (a JSON object of ":placeholder" → DynamoDB-JSON value) and the
`#alias` names of `tap-dynamodb.expression-attributes`, which the projection shares.

FULL_TABLE sends the expression to Scan as FilterExpression (DynamoDB filters after reading, so
it saves bandwidth, not read capacity). LOG_BASED applies the same expression to each change's
images with `RowFilter.matches`, which does what DynamoDB does (see `filter_change`).

The grammar (DynamoDB's condition expressions; keywords and function names in any case):

    condition ::= operand comparator operand | operand BETWEEN operand AND operand
                | operand IN ( operand, ... ) | function | condition AND condition
                | condition OR condition | NOT condition | ( condition )
    comparator ::= = | <> | < | <= | > | >=
    function ::= attribute_exists(path) | attribute_not_exists(path) | attribute_type(path, :type)
               | begins_with(path, operand) | contains(path, operand)
    operand ::= path | :value | size(path)
    path ::= name-or-#alias ( .name-or-#alias | [index] )*

Precedence, highest first: comparators, IN, BETWEEN, functions, parentheses, NOT, AND, OR.

Semantics: numbers compare as decimals, strings by their UTF-8 bytes, binary by its bytes;
`<`, `<=`, `>`, `>=` and BETWEEN compare only numbers, strings and binary of one type and are
false otherwise; `=` is deep equality of two values of one type (sets regardless of order);
`<>` is NOT `=` (so true when a side is missing); a missing attribute makes every other
comparison false. `size` is the length of a string (in characters, as DynamoDB Local counts;
an astral character may count 2 at DynamoDB), of binary (bytes), or the number of elements of a
set, list or map; of anything else it is missing.

Checks DynamoDB makes before it reads (and the tap with it): a comparison's, IN's, BETWEEN's
or function's first operand, when a path, must differ from the others; a :value compared with <, <=, >, >=
or BETWEEN must be a number, string or binary; begins_with's second operand a string or binary
:value or a path; attribute_type's a type name; BETWEEN's two :value bounds in order.
Everything here is pure: no I/O.
"""

from __future__ import annotations

import base64
import decimal
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from ..errors import TapError

FILTER_KEY = "tap-dynamodb.filter-expression"
VALUES_KEY = "tap-dynamodb.expression-values"
NAMES_KEY = "tap-dynamodb.expression-attributes"

MAX_EXPRESSION_LENGTH = 4096
MAX_IN_OPERANDS = 100
TYPE_NAMES = ("S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M")

_DECIMAL = decimal.Context(prec=60, Emax=999999, Emin=-999999)

WireValue = dict[str, Any]
WireImage = dict[str, Any]
Step = Union[str, int]

# --------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Path:
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Value:
    placeholder: str


@dataclass(frozen=True)
class Size:
    path: Path


Operand = Union[Path, Value, Size]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class Between:
    subject: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True)
class In:
    subject: Operand
    options: tuple[Operand, ...]


@dataclass(frozen=True)
class Function:
    name: str  # lower case
    path: Path
    argument: Optional[Operand]


@dataclass(frozen=True)
class Not:
    operand: Condition


@dataclass(frozen=True)
class Logical:
    op: str  # "AND" or "OR"
    left: Condition
    right: Condition


Condition = Union[Compare, Between, In, Function, Not, Logical]

# --------------------------------------------------------------------------
# Tokens and parser
# --------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<cmp><>|<=|>=|=|<|>)"
    r"|(?P<punct>[(),.\[\]])"
    r"|(?P<alias>#[A-Za-z0-9_]+)"
    r"|(?P<value>:[A-Za-z0-9_]+)"
    r"|(?P<index>\d+)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r")"
)
_FUNCTIONS = {"attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size"}


class ExpressionError(ValueError):
    """The expression does not follow DynamoDB's grammar (the message says where)."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.lastgroup is None:
            start = len(text) - len(text[position:].lstrip())
            raise ExpressionError(f"unexpected character {text[start]!r} at position {start + 1}")
        kind = match.lastgroup
        out.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return out


class _Parser:
    def __init__(self, text: str, names: Mapping[str, str], reserved: frozenset[str]):
        self.tokens = _tokens(text)
        self.at = 0
        self.names = names
        self.reserved = reserved
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()

    # ------------------------------------------------------------ helpers
    def peek(self, offset: int = 0) -> Optional[_Token]:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.upper() == word

    def punct(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "punct" and token.text == text

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        token = self.peek()
        if token is None or token.text != text:
            raise ExpressionError(f"expected {text!r} {self.where(token)}")
        self.at += 1

    @staticmethod
    def where(token: Optional[_Token]) -> str:
        return "at the end" if token is None else f"at {token.text!r} (position {token.position + 1})"

    # ------------------------------------------------------------ grammar
    def parse(self) -> Condition:
        if not self.tokens:
            raise ExpressionError("the expression is empty")
        condition = self.or_condition()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.where(self.peek())}")
        return condition

    def or_condition(self) -> Condition:
        left = self.and_condition()
        while self.keyword("OR"):
            self.take()
            left = Logical("OR", left, self.and_condition())
        return left

    def and_condition(self) -> Condition:
        left = self.not_condition()
        while self.keyword("AND"):
            self.take()
            left = Logical("AND", left, self.not_condition())
        return left

    def not_condition(self) -> Condition:
        if self.keyword("NOT"):
            self.take()
            return Not(self.not_condition())
        return self.primary()

    def primary(self) -> Condition:
        if self.punct("("):
            self.take()
            inner = self.or_condition()
            self.expect(")")
            return inner
        token = self.peek()
        if (
            token is not None
            and token.kind == "word"
            and token.text.lower() in _FUNCTIONS - {"size"}
            and self._next_is_paren()
        ):
            return self.function()
        left = self.operand()
        token = self.peek()
        if token is not None and token.kind == "cmp":
            self.take()
            return Compare(token.text, left, self.operand())
        if self.keyword("BETWEEN"):
            self.take()
            low = self.operand()
            if not self.keyword("AND"):
                raise ExpressionError(f"BETWEEN needs AND {self.where(self.peek())}")
            self.take()
            return Between(left, low, self.operand())
        if self.keyword("IN"):
            self.take()
            self.expect("(")
            options = [self.operand()]
            while self.punct(","):
                self.take()
                options.append(self.operand())
            self.expect(")")
            if len(options) > MAX_IN_OPERANDS:
                raise ExpressionError(f"IN takes at most {MAX_IN_OPERANDS} operands, got {len(options)}")
            return In(left, tuple(options))
        raise ExpressionError(f"expected a comparator, BETWEEN or IN {self.where(token)}")

    def _next_is_paren(self) -> bool:
        following = self.peek(1)
        return following is not None and following.kind == "punct" and following.text == "("

    def function(self) -> Condition:
        name = self.take().text.lower()
        self.expect("(")
        path = self.path()
        argument: Optional[Operand] = None
        if name in ("attribute_type", "begins_with", "contains"):
            self.expect(",")
            argument = self.operand()
            if name == "attribute_type" and not isinstance(argument, Value):
                raise ExpressionError("attribute_type takes a :placeholder for the type, like attribute_type(a, :t)")
        self.expect(")")
        return Function(name, path, argument)

    def operand(self) -> Operand:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends where an operand belongs")
        if token.kind == "value":
            self.take()
            self.used_values.add(token.text)
            return Value(token.text)
        if token.kind == "word" and token.text.lower() == "size" and self._next_is_paren():
            self.take()
            self.expect("(")
            path = self.path()
            self.expect(")")
            return Size(path)
        return self.path()

    def name(self) -> str:
        token = self.take()
        if token.kind == "alias":
            if token.text not in self.names:
                raise ExpressionError(f"{token.text} is not defined in {NAMES_KEY}")
            self.used_names.add(token.text)
            return self.names[token.text]
        if token.kind == "word":
            if token.text.upper() in self.reserved:
                raise ExpressionError(
                    f"{token.text!r} is a DynamoDB reserved word; write an alias like #{token.text.lower()} "
                    f"and define it in {NAMES_KEY}"
                )
            return token.text
        raise ExpressionError(f"expected an attribute name {self.where(token)}")

    def path(self) -> Path:
        steps: list[Step] = [self.name()]
        while True:
            if self.punct("."):
                self.take()
                steps.append(self.name())
            elif self.punct("["):
                self.take()
                token = self.take()
                if token.kind != "index":
                    raise ExpressionError(f"expected a list index {self.where(token)}")
                steps.append(int(token.text))
                self.expect("]")
            else:
                return Path(tuple(steps))


def _show(operand: Operand) -> str:
    if isinstance(operand, Value):
        return operand.placeholder
    if isinstance(operand, Size):
        return f"size({_show(operand.path)})"
    return "".join(f"[{s}]" if isinstance(s, int) else (("." if i else "") + s) for i, s in enumerate(operand.steps))


def _rename(text: str, tokens: list[_Token], renamed: Mapping[str, str]) -> str:
    out, position = [], 0
    for token in tokens:
        if token.kind == "alias":
            out.append(text[position : token.position] + renamed[token.text])
            position = token.position + len(token.text)
    return "".join(out) + text[position:]


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------


def _bytes(text: Any) -> bytes:
    return base64.b64decode(text) if isinstance(text, str) else bytes(text)


def _number(text: Any) -> decimal.Decimal:
    return _DECIMAL.create_decimal(str(text))


def _tag(value: WireValue) -> str:
    return next(iter(value))


def _set_key(tag: str, element: Any) -> Any:
    if tag == "NS":
        return _number(element).normalize(_DECIMAL)
    if tag == "BS":
        return _bytes(element)
    return element


def _equal(a: WireValue, b: WireValue) -> bool:
    tag = _tag(a)
    if tag != _tag(b):
        return False
    x, y = a[tag], b[tag]
    if tag == "N":
        return _number(x) == _number(y)
    if tag == "B":
        return _bytes(x) == _bytes(y)
    if tag in ("SS", "NS", "BS"):
        return {_set_key(tag, e) for e in x} == {_set_key(tag, e) for e in y}
    if tag == "L":
        return len(x) == len(y) and all(_equal(i, j) for i, j in zip(x, y))
    if tag == "M":
        return x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    return bool(x == y)


def _ordered(value: WireValue) -> Optional[tuple[str, Any]]:
    tag = _tag(value)
    if tag == "N":
        return tag, _number(value[tag])
    if tag == "S":
        return tag, value[tag].encode("utf-8")
    if tag == "B":
        return tag, _bytes(value[tag])
    return None


def _order(op: str, a: WireValue, b: WireValue) -> bool:
    x, y = _ordered(a), _ordered(b)
    if x is None or y is None or x[0] != y[0]:
        return False
    if op == "<":
        return bool(x[1] < y[1])
    if op == "<=":
        return bool(x[1] <= y[1])
    if op == ">":
        return bool(x[1] > y[1])
    return bool(x[1] >= y[1])


def _compare(op: str, a: Optional[WireValue], b: Optional[WireValue]) -> bool:
    if op == "<>":
        return not _compare("=", a, b)
    if a is None or b is None:
        return False
    if op == "=":
        return _equal(a, b)
    return _order(op, a, b)


def _resolve(image: Mapping[str, Any], steps: tuple[Step, ...]) -> Optional[WireValue]:
    current: Any = image.get(steps[0]) if isinstance(steps[0], str) else None
    for step in steps[1:]:
        if not isinstance(current, dict):
            return None
        if isinstance(step, int):
            elements = current.get("L")
            current = elements[step] if isinstance(elements, list) and step < len(elements) else None
        else:
            members = current.get("M")
            current = members.get(step) if isinstance(members, dict) else None
    return current if isinstance(current, dict) and current else None


def _size(value: Optional[WireValue]) -> Optional[WireValue]:
    if value is None:
        return None
    tag = _tag(value)
    if tag == "S":
        return {"N": str(len(value[tag]))}
    if tag == "B":
        return {"N": str(len(_bytes(value[tag])))}
    if tag in ("SS", "NS", "BS", "L", "M"):
        return {"N": str(len(value[tag]))}
    return None


def _contains(container: WireValue, element: WireValue) -> bool:
    tag, etag = _tag(container), _tag(element)
    if tag == "S":
        return etag == "S" and element["S"] in container["S"]
    if tag == "B":
        return etag == "B" and _bytes(element["B"]) in _bytes(container["B"])
    if tag in ("SS", "NS", "BS"):
        return etag == tag[0] and _set_key(tag, element[etag]) in {_set_key(tag, e) for e in container[tag]}
    if tag == "L":
        return any(_equal(member, element) for member in container["L"])
    return False


def _begins_with(subject: WireValue, prefix: WireValue) -> bool:
    tag = _tag(subject)
    if tag != _tag(prefix):
        return False
    if tag == "S":
        return bool(subject["S"].startswith(prefix["S"]))
    if tag == "B":
        return _bytes(subject["B"]).startswith(_bytes(prefix["B"]))
    return False


# --------------------------------------------------------------------------
# The filter
# --------------------------------------------------------------------------


class RowFilter:
    """A parsed, checked filter expression with its placeholder values."""

    def __init__(
        self,
        expression: str,
        names: Mapping[str, str],
        values: Mapping[str, WireValue],
        reserved: frozenset[str] = frozenset(),
    ):
        parser = _Parser(expression, names, reserved)
        self.condition = parser.parse()
        self.expression = expression
        self.used_names = frozenset(parser.used_names)
        unused = sorted(set(values) - parser.used_values)
        if unused:
            raise ExpressionError(f"{VALUES_KEY} defines {', '.join(unused)}, which the expression does not use")
        undefined = sorted(parser.used_values - set(values))
        if undefined:
            raise ExpressionError(f"the expression uses {', '.join(undefined)}, which {VALUES_KEY} does not define")
        self.values = {key: values[key] for key in sorted(parser.used_values)}
        self._check(self.condition)
        renamed = {alias: f"#f{n}" for n, alias in enumerate(sorted(parser.used_names))}
        self.scan_names = {renamed[alias]: names[alias] for alias in sorted(parser.used_names)}
        self.scan_expression = _rename(expression, parser.tokens, renamed)

    def _check_operands(self, what: str, first: Operand, others: tuple[Optional[Operand], ...]) -> None:
        if isinstance(first, Path) and first in others:  # (DynamoDB lets size(a) repeat)
            raise ExpressionError(f"{what}'s first operand must differ from the others (it repeats {_show(first)})")

    def _check_ordered(self, what: str, operands: tuple[Operand, ...]) -> None:
        for operand in operands:
            if isinstance(operand, Value) and _ordered(self.values[operand.placeholder]) is None:
                raise ExpressionError(
                    f"{what} compares only numbers, strings and binary; {operand.placeholder} is "
                    f"{_tag(self.values[operand.placeholder])}"
                )

    def _check(self, condition: Condition) -> None:
        if isinstance(condition, Compare):
            self._check_operands(condition.op, condition.left, (condition.right,))
            if condition.op not in ("=", "<>"):
                self._check_ordered(condition.op, (condition.left, condition.right))
        elif isinstance(condition, In):
            self._check_operands("IN", condition.subject, condition.options)
        elif isinstance(condition, Between):
            self._check_operands("BETWEEN", condition.subject, (condition.low, condition.high))
            self._check_ordered("BETWEEN", (condition.subject, condition.low, condition.high))
        elif isinstance(condition, Function):
            self._check_operands(condition.name, condition.path, (condition.argument,))
            argument = condition.argument
            if condition.name == "begins_with" and (
                isinstance(argument, Size)
                or (isinstance(argument, Value) and _tag(self.values[argument.placeholder]) not in ("S", "B"))
            ):
                raise ExpressionError("begins_with's second operand must be a string or binary :value, or a path")
        if isinstance(condition, Logical):
            self._check(condition.left)
            self._check(condition.right)
        elif isinstance(condition, Not):
            self._check(condition.operand)
        if isinstance(condition, Function) and condition.name == "attribute_type":
            assert isinstance(condition.argument, Value)
            kind = self.values[condition.argument.placeholder]
            if _tag(kind) != "S" or kind["S"] not in TYPE_NAMES:
                raise ExpressionError(
                    f"attribute_type's {condition.argument.placeholder} must be one of {', '.join(TYPE_NAMES)} "
                    '(as a string value, like {"S": "N"})'
                )
        elif isinstance(condition, Between) and isinstance(condition.low, Value) and isinstance(condition.high, Value):
            low, high = self.values[condition.low.placeholder], self.values[condition.high.placeholder]
            if _ordered(low) is None or _tag(low) != _tag(high) or _order(">", low, high):
                raise ExpressionError(
                    "BETWEEN needs two numbers, strings or binary values of one type, the lower bound first"
                )

    def scan_params(self) -> dict[str, Any]:
        """FilterExpression, ExpressionAttributeNames and ExpressionAttributeValues for a Scan.

        The user's #aliases become #f0, #f1, ... (the projection's are #p0, ...), so that the two
        sets of names merge without a clash; everything else goes as written.
        """
        params: dict[str, Any] = {"FilterExpression": self.scan_expression}
        if self.scan_names:
            params["ExpressionAttributeNames"] = dict(self.scan_names)
        if self.values:
            params["ExpressionAttributeValues"] = dict(self.values)
        return params

    def matches(self, image: Mapping[str, Any]) -> bool:
        """True when DynamoDB's FilterExpression would keep the wire-form item."""
        return self._holds(self.condition, image)

    def _operand(self, operand: Operand, image: Mapping[str, Any]) -> Optional[WireValue]:
        if isinstance(operand, Value):
            return self.values[operand.placeholder]
        if isinstance(operand, Size):
            return _size(_resolve(image, operand.path.steps))
        return _resolve(image, operand.steps)

    def _holds(self, condition: Condition, image: Mapping[str, Any]) -> bool:
        if isinstance(condition, Logical):
            if condition.op == "AND":
                return self._holds(condition.left, image) and self._holds(condition.right, image)
            return self._holds(condition.left, image) or self._holds(condition.right, image)
        if isinstance(condition, Not):
            return not self._holds(condition.operand, image)
        if isinstance(condition, Compare):
            return _compare(condition.op, self._operand(condition.left, image), self._operand(condition.right, image))
        if isinstance(condition, Between):
            subject = self._operand(condition.subject, image)
            return _compare(">=", subject, self._operand(condition.low, image)) and _compare(
                "<=", subject, self._operand(condition.high, image)
            )
        if isinstance(condition, In):
            subject = self._operand(condition.subject, image)
            return any(_compare("=", subject, self._operand(option, image)) for option in condition.options)
        return self._function(condition, image)

    def _function(self, condition: Function, image: Mapping[str, Any]) -> bool:
        value = _resolve(image, condition.path.steps)
        if condition.name == "attribute_exists":
            return value is not None
        if condition.name == "attribute_not_exists":
            return value is None
        argument = self._operand(condition.argument, image) if condition.argument is not None else None
        if value is None or argument is None:
            return False
        if condition.name == "attribute_type":
            return bool(_tag(value) == argument["S"])
        if condition.name == "begins_with":
            return _begins_with(value, argument)
        return _contains(value, argument)


# --------------------------------------------------------------------------
# Catalog metadata
# --------------------------------------------------------------------------


def _check_value(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    tag, inner = next(iter(value.items()))
    if tag == "S":
        return isinstance(inner, str)
    if tag == "B":
        try:
            return isinstance(inner, str) and base64.b64decode(inner, validate=True) is not None
        except ValueError:  # binascii.Error
            return False
    if tag == "N":
        try:
            return isinstance(inner, str) and _number(inner).is_finite()
        except decimal.InvalidOperation:
            return False
    if tag in ("BOOL", "NULL"):
        return isinstance(inner, bool)
    if tag in ("SS", "NS", "BS"):
        return isinstance(inner, list) and bool(inner) and all(_check_value({tag[0]: e}) for e in inner)
    if tag == "L":
        return isinstance(inner, list) and all(_check_value(e) for e in inner)
    if tag == "M":
        return isinstance(inner, dict) and all(isinstance(k, str) and _check_value(v) for k, v in inner.items())
    return False


def metadata_object(stream: str, key: str, raw: Any, example: str) -> Any:
    """A metadata value that holds a JSON object, given as one or as JSON text ({} when unset);
    the caller checks that it is an object of the right entries."""
    if raw in (None, "", {}):
        return {}
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            raise TapError(
                f"stream {stream}: metadata {key} is not valid JSON; it must be an object like {example}"
            ) from None
    return raw


def parse_values(stream: str, raw: Any) -> dict[str, WireValue]:
    """`tap-dynamodb.expression-values` (object or JSON text) → {":placeholder": wire-form value}."""
    raw = metadata_object(stream, VALUES_KEY, raw, '{":v": {"S": "text"}}')
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise TapError(f'stream {stream}: metadata {VALUES_KEY} must be a JSON object like {{":v": {{"S": "text"}}}}')
    for key, value in raw.items():
        if not isinstance(key, str) or not re.fullmatch(r":[A-Za-z0-9_]+", key):
            raise TapError(
                f"stream {stream}: metadata {VALUES_KEY} has placeholder {key!r}; a placeholder is : followed "
                'by letters, digits or _, like ":v"'
            )
        if not _check_value(value):
            raise TapError(
                f"stream {stream}: metadata {VALUES_KEY} value {key} is not a DynamoDB-JSON value; write "
                'one like {"S": "text"}, {"N": "1"}, {"B": "<base64>"} or {"BOOL": true}'
            )
    return dict(raw)


def for_stream(
    stream: str, top: Mapping[str, Any], names: Mapping[str, str], reserved: frozenset[str]
) -> Optional[RowFilter]:
    """The stream's RowFilter from its top-level metadata, or None; TapError (one line) when malformed."""
    expression = top.get(FILTER_KEY)
    values = parse_values(stream, top.get(VALUES_KEY))
    if expression in (None, ""):
        if values:
            raise TapError(
                f"stream {stream}: metadata {VALUES_KEY} is set but {FILTER_KEY} is not; set the filter "
                "expression or remove the values"
            )
        return None
    if not isinstance(expression, str):
        raise TapError(f'stream {stream}: metadata {FILTER_KEY} must be a string like "a > :v"')
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise TapError(
            f"stream {stream}: metadata {FILTER_KEY} is longer than DynamoDB's limit of {MAX_EXPRESSION_LENGTH} "
            "characters; shorten it"
        )
    try:
        return RowFilter(expression, names, values, reserved)
    except ExpressionError as exc:
        raise TapError(f"stream {stream}: metadata {FILTER_KEY} is not a valid filter expression: {exc}") from None


# --------------------------------------------------------------------------
# Changes (LOG_BASED)
# --------------------------------------------------------------------------


def filter_change(record: dict[str, Any], matches: Callable[[WireImage], bool]) -> Optional[dict[str, Any]]:
    """A stream record as the filtered stream sees it: the record, a REMOVE, or None (skip).

    - INSERT/MODIFY whose new image matches: the record.
    - MODIFY whose new image does not match: a REMOVE of the key (the row may be in the warehouse),
      when the old image matched or the stream carries no old image (view type NEW_IMAGE); with an
      old image that did not match either, None.
    - INSERT whose new image does not match: None.
    - REMOVE: the record when its old image matched, or when there is no old image; else None.
    """
    change = record.get("dynamodb") or {}
    event = record.get("eventName")
    old = change.get("OldImage")
    if event == "REMOVE":
        return record if old is None or matches(old) else None
    new = change.get("NewImage")
    if new is None or matches(new):
        return record  # (no NewImage: wire_change reports the view type)
    if event == "MODIFY" and (old is None or matches(old)):
        removed = {k: v for k, v in change.items() if k != "NewImage"}
        return {k: v for k, v in record.items() if k not in ("dynamodb", "eventName", "userIdentity")} | {
            "eventName": "REMOVE",
            "dynamodb": removed,
        }
    return None
