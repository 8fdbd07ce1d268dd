"""A table's point-in-time recovery (PITR) window, from DescribeContinuousBackups.

Exports need PITR, and the window says which export times AWS accepts: from
EarliestRestorableDateTime (when PITR was enabled, at most 35 days back) to
LatestRestorableDateTime, which trails AWS's present by a few minutes. The tap takes that
latest time as "now" for every export time it asks for, never the machine's clock: a skewed
client clock would otherwise ask for times AWS refuses (InvalidExportTimeException) or, worse,
for windows that end before changes AWS has already acknowledged.

DynamoDB Local has no such operation (UnknownOperationException): `read_window` then says
None ("unknown"), so discovery against it still works and simply offers no INCREMENTAL.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from typing import Any, Optional

from botocore.exceptions import ClientError

from ..timestamps import iso_utc
from .api import DynamoDB
from .errors import error_code

UNKNOWN_OPERATION = "UnknownOperationException"
ENABLED = "ENABLED"


@dataclass(frozen=True)
class PitrWindow:
    """PITR status and window of one table; the times are UTC (None when AWS gave none)."""

    enabled: bool
    earliest: Optional[dt.datetime] = None
    latest: Optional[dt.datetime] = None

    def covers(self, moment: dt.datetime) -> bool:
        """PITR is on and `moment` lies inside the window (an export from `moment` is accepted)."""
        return (
            self.enabled
            and self.earliest is not None
            and self.latest is not None
            and self.earliest <= moment <= self.latest
        )

    def metadata(self) -> dict[str, Any]:
        """The catalog's top-level metadata for the window (discovery)."""
        out: dict[str, Any] = {"tap-dynamodb.pitr-status": ENABLED if self.enabled else "DISABLED"}
        if self.enabled and self.earliest is not None:
            out["tap-dynamodb.pitr-earliest-restorable"] = iso_utc(self.earliest)
        if self.enabled and self.latest is not None:
            out["tap-dynamodb.pitr-latest-restorable"] = iso_utc(self.latest)
        return out


def _utc(value: Any) -> Optional[dt.datetime]:
    """botocore's datetime (or epoch seconds from a raw answer) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc) if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    raise ValueError(f"not a time: {value!r}")


def window_of(description: dict[str, Any]) -> PitrWindow:
    """DescribeContinuousBackups' ContinuousBackupsDescription → PitrWindow."""
    pitr = description.get("PointInTimeRecoveryDescription") or {}
    return PitrWindow(
        pitr.get("PointInTimeRecoveryStatus") == ENABLED,
        _utc(pitr.get("EarliestRestorableDateTime")),
        _utc(pitr.get("LatestRestorableDateTime")),
    )


def read_window(api: DynamoDB, table_name: str) -> Optional[PitrWindow]:
    """The table's PITR window; None when the endpoint has no DescribeContinuousBackups (DynamoDB Local).

    Other errors (access denied, throttling after the retries) are botocore's, for the caller
    to word: discovery warns and offers no INCREMENTAL, a sync stops with one line.
    """
    try:
        return window_of(api.describe_continuous_backups(table_name))
    except ClientError as exc:
        if error_code(exc) == UNKNOWN_OPERATION:
            return None
        raise


def server_clock(api: DynamoDB, table_name: str) -> tuple[PitrWindow, Optional[dt.datetime]]:
    """The table's PITR window and AWS's present from the answer's Date header (None without one).

    The Date header is whole seconds, truncated: the present lies within the second after it.
    """
    description, date = api.aws_clock(table_name)
    now: Optional[dt.datetime] = None
    if date:
        try:
            now = email.utils.parsedate_to_datetime(date).astimezone(dt.timezone.utc)
        except (TypeError, ValueError):
            now = None
    return window_of(description), now
