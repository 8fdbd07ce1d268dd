"""Column selection: which attributes a Scan (and a stream image) keeps.

Stitch's catalog carries a projection expression in the metadata key
`tap-mongodb.projection` (that is the key Stitch reads) and aliases for reserved words in
`tap-dynamodb.expression-attributes` (a JSON object of "#alias" → attribute name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

from .errors import TapError

STITCH_PROJECTION_KEY = "tap-mongodb.projection"
STITCH_NAMES_KEY = "tap-dynamodb.expression-attributes"


@dataclass(frozen=True)
class Projection:
    """A ProjectionExpression with its ExpressionAttributeNames."""

    expression: str
    names: dict = field(default_factory=dict)

    def scan_params(self) -> dict:
        params = {"ProjectionExpression": self.expression}
        if self.names:
            params["ExpressionAttributeNames"] = dict(self.names)
        return params


def _stitch_names(stream: str, raw) -> dict:
    if raw in (None, "", {}):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise TapError(f"stream {stream}: metadata {STITCH_NAMES_KEY} is not valid JSON; it must be an "
                           "object like {\"#n\": \"name\"}") from None
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise TapError(f"stream {stream}: metadata {STITCH_NAMES_KEY} must map \"#alias\" to an attribute name")
    return raw


def from_metadata(stream: str, top_metadata: dict) -> Optional[Projection]:
    """The projection a catalog entry asks for, or None to read every attribute."""
    expression = top_metadata.get(STITCH_PROJECTION_KEY)
    names = _stitch_names(stream, top_metadata.get(STITCH_NAMES_KEY))
    if expression in (None, ""):
        return None
    if not isinstance(expression, str):
        raise TapError(f"stream {stream}: metadata {STITCH_PROJECTION_KEY} must be a string like \"a, b.c, #n\"")
    return Projection(expression=expression.strip(), names=names)
