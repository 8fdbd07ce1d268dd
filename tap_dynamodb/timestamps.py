"""Singer timestamps: UTC, ISO-8601 with microseconds and a Z."""

from __future__ import annotations

import datetime as dt


def iso_utc(moment: dt.datetime) -> str:
    """A UTC moment in Singer's timestamp format."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now_iso() -> str:
    """The current time in Singer's timestamp format."""
    return iso_utc(dt.datetime.now(dt.timezone.utc))
