"""The one page type readers hand out: wire-form items, where to resume after them, and a number check.

"Wire form" is DynamoDB JSON as it arrives on the wire (`{"id": {"S": "a"}, "n": {"N": "1.5"}}`,
binary as base64 text). A Scan page holds items; a GetRecords page holds stream records, whose
images are items. `after` is what to bookmark (or send) once the page's records are written.
`numbers_checked` says that every N and NS value in the page is already JSON number text
(values.numbers.numbers_are_json passed the raw body), so the decoder may take it as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

WireValue = dict[str, Any]
"""One typed attribute value, `{"N": "1.5"}`."""
WireItem = dict[str, WireValue]
"""An item (or key, or stream image): attribute name → typed value."""

P = TypeVar("P")


@dataclass
class Page(Generic[P]):
    items: list[dict[str, Any]]
    after: P
    numbers_checked: bool = False
