"""Bookmarks, in the shape Stitch's tap-dynamodb writes, so that its state files resume here.

    {"currently_syncing": "orders",
     "bookmarks": {"orders": {"version": 1700000000000,
                              "last_evaluated_key": {"id": {"S": "a"}},
                              "initial_full_table_complete": true,
                              "last_replication_method": "FULL_TABLE",
                              "success_timestamp": "2026-11-26T20:00:00.000000Z",
                              "shard_seq_numbers": {...}, "finished_shards": [...]}}}

Keys are stored in DynamoDB's wire form (binary as base64 text) so the state is plain JSON.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from .errors import TapError


def load_state(raw: Any) -> dict:
    """Check the outer shape of a state and return a private copy to update."""
    if raw is None:
        return {"bookmarks": {}}
    if not isinstance(raw, dict):
        raise TapError("state must be a JSON object like {\"bookmarks\": {...}}; pass an empty file's "
                       "worth of {} to start fresh")
    # Singer runners sometimes hand over the whole STATE message rather than its value.
    if raw.get("type") == "STATE" and isinstance(raw.get("value"), dict):
        raw = raw["value"]
    state = copy.deepcopy(raw)
    bookmarks = state.setdefault("bookmarks", {})
    if not isinstance(bookmarks, dict):
        raise TapError("state key bookmarks must be an object of table name → bookmark")
    for table, bookmark in bookmarks.items():
        if not isinstance(bookmark, dict):
            raise TapError(f"state bookmark for table {table!r} must be an object; remove it to re-sync the table")
    current = state.get("currently_syncing")
    if current is not None and not isinstance(current, str):
        raise TapError("state key currently_syncing must be a stream name or null")
    return state


def table_bookmark(state: dict, table: str) -> dict:
    """The (mutable) bookmark of one table, created empty when missing."""
    return state.setdefault("bookmarks", {}).setdefault(table, {})


def get_bookmark(state: dict, table: str, key: str, default: Any = None) -> Any:
    return state.get("bookmarks", {}).get(table, {}).get(key, default)


def write_bookmark(state: dict, table: str, key: str, value: Any) -> None:
    table_bookmark(state, table)[key] = value


def clear_bookmark(state: dict, table: str, key: str) -> None:
    table_bookmark(state, table).pop(key, None)


def reset_table(state: dict, table: str) -> None:
    """Table-level reset: forget everything about a table so it is replicated from scratch."""
    state.setdefault("bookmarks", {}).pop(table, None)


SCAN_PROGRESS_KEYS = ("last_evaluated_key", "scan_segments")


def scan_in_progress(bookmark: dict) -> bool:
    """True when the table's bookmark says an earlier run stopped in the middle of its scan."""
    return any(bookmark.get(key) is not None for key in SCAN_PROGRESS_KEYS)


def set_currently_syncing(state: dict, stream: Optional[str]) -> None:
    state["currently_syncing"] = stream
