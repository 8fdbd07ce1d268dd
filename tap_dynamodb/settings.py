"""Every config key the tap reads, declared once: parsing, `--about`, meltano.yml and the README.

A Stitch config (account_id, role_name, external_id, region_name, use_local_dynamo,
request_timeout) works unchanged; our own keys add static credentials, profiles, an endpoint
URL and tuning. Each `Setting` says what the key is for (in the form Meltano describes plugin
settings) and how its value is checked; `parse_config` walks the list, so a wrong value is
reported as one line naming the key and later code can trust the `Config` it receives. Tests
hold meltano.yml and the README's settings table to this list.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Optional
from urllib.parse import urlsplit

from .errors import TapError

LOGGER = logging.getLogger("tap_dynamodb")

LOCAL_DYNAMO_URL = "http://localhost:8000"
MAX_SCAN_SEGMENTS = 1_000_000  # DynamoDB's limit on TotalSegments

# Meltano setting kinds → JSON schema types (for `--about --format json`).
_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "decimal": "number",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}

CAPABILITIES = ("catalog", "discover", "state", "properties", "about", "log-based", "activate-version", "batch")

# Records per batch file. An SDK target reads a whole file into memory before loading it
# (target-postgres: ~620 MB at 100 000 of the bench's items, ~145 MB at 10 000, as on the RECORD
# path); bigger files load somewhat faster (fewer merges), so memory to spare buys throughput by
# raising it (docs/benchmark.md). 10 000 is also the Meltano SDK's default.
DEFAULT_BATCH_SIZE = 10_000
BATCH_COMPRESSIONS = ("gzip", "none")


# --------------------------------------------------------------------------
# Value checks, one per Meltano kind
# --------------------------------------------------------------------------


def _as_bool(key: str, value: Any, default: Optional[bool]) -> Optional[bool]:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise TapError(f"config key {key} must be true or false, got {value!r}")


def _as_number(
    key: str, value: Any, default: Optional[float], minimum: float, integer: bool, zero_means_default: bool
) -> Optional[float]:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise TapError(f"config key {key} must be a number, got {value!r}")
    try:
        number = float(value) if not integer else int(str(value).strip())
    except (TypeError, ValueError):
        kind = "a whole number" if integer else "a number"
        raise TapError(f"config key {key} must be {kind}, got {value!r}") from None
    if zero_means_default and number == 0:
        return default
    if number < minimum:
        raise TapError(f"config key {key} must be at least {minimum:g}, got {value!r}")
    return number


def _as_str(key: str, value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise TapError(f"config key {key} must be a string, got {type(value).__name__}")
    return value.strip()


def _as_str_list(key: str, value: Any) -> Optional[list[str]]:
    """Accept a JSON list, a JSON list inside a string (Meltano's env form) or 'a,b,c'."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise TapError(f"config key {key} holds invalid JSON: {text!r}") from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TapError(f"config key {key} must be a list of table names or patterns")
    return value


def _as_object(key: str, value: Any) -> Optional[dict[str, Any]]:
    """Accept a JSON object, or one inside a string (Meltano's environment-variable form)."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TapError(f"config key {key} holds invalid JSON: {value.strip()!r}") from None
    if not isinstance(value, dict):
        raise TapError(f"config key {key} must be an object, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class BatchConfig:
    """The checked `batch_config`: where batch files go and how they are encoded.

    Plain data (no clients), so it can be pickled into the worker processes that write batch
    files too (output/batch.py). `root` is normalised: `file:///abs/dir` or `s3://bucket/key-prefix`,
    without a trailing slash.
    """

    root: str
    prefix: str = ""
    compression: str = "gzip"
    batch_size: int = DEFAULT_BATCH_SIZE
    format: str = "jsonl"

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    @property
    def local_dir(self) -> str:
        """The directory of a file:// root."""
        return self.root[len("file://") :]

    @property
    def bucket_and_key_prefix(self) -> tuple[str, str]:
        """(bucket, key prefix ending in / or empty) of an s3:// root."""
        parts = urlsplit(self.root)
        path = parts.path.strip("/")
        return parts.netloc, f"{path}/" if path else ""

    @property
    def encoding(self) -> dict[str, str]:
        """The BATCH message's `encoding`."""
        return {"format": self.format, "compression": self.compression}


_BATCH_KEYS: Mapping[str, tuple[str, ...]] = {
    "batch_config": ("encoding", "storage", "batch_size"),
    "batch_config.encoding": ("format", "compression"),
    "batch_config.storage": ("root", "prefix", "params"),
}


def _batch_section(where: str, value: Any) -> dict[str, Any]:
    """A section of batch_config as a dict, refusing unknown keys (a misspelt one named with the key meant)."""
    if not isinstance(value, dict):
        raise TapError(f"config key {where} must be an object, got {type(value).__name__}")
    known = _BATCH_KEYS[where]
    for key in value:
        if key in known:
            continue
        meant = min(known, key=lambda name: _distance(_normalized(str(key)), name))
        close = _distance(_normalized(str(key)), meant) <= 2
        hint = f"did you mean {where}.{meant}?" if close else f"{where} takes {', '.join(known)}"
        raise TapError(f"config key {where}.{key} is not a batch_config key; {hint}")
    return value


def _batch_root(root: Any) -> str:
    where = "batch_config.storage.root"
    if not isinstance(root, str) or not root.strip():
        raise TapError(f"config key {where} is missing; set it to file:///a/directory or s3://bucket/prefix")
    root = root.strip()
    if root.startswith("s3://"):
        bucket = urlsplit(root).netloc
        if not bucket:
            raise TapError(f"config key {where} {root!r} names no bucket; write s3://bucket/prefix")
        return root.rstrip("/")
    if root.startswith("file://"):
        path = root[len("file://") :]
        if not path:
            raise TapError(f"config key {where} {root!r} names no directory; write file:///a/directory")
        return "file://" + os.path.abspath(os.path.expanduser(path))
    raise TapError(f"config key {where} must start with file:// or s3://, got {root!r}")


def parse_batch_config(raw: Optional[dict[str, Any]]) -> Optional[BatchConfig]:
    """The SDK-shaped batch_config checked field by field (None: batch files are off)."""
    if raw is None:
        return None
    top = _batch_section("batch_config", raw)
    encoding = _batch_section("batch_config.encoding", top.get("encoding") or {})
    storage = _batch_section("batch_config.storage", top.get("storage") or {})
    file_format = encoding.get("format") or "jsonl"
    if file_format != "jsonl":
        raise TapError(
            f"config key batch_config.encoding.format must be jsonl (the only format written), got {file_format!r}"
        )
    compression = encoding.get("compression")
    compression = "gzip" if compression is None else str(compression).strip().lower()  # smaller files by default
    if compression not in BATCH_COMPRESSIONS:
        raise TapError(
            f"config key batch_config.encoding.compression must be gzip or none, got {encoding.get('compression')!r}"
        )
    prefix = storage.get("prefix") or ""
    if not isinstance(prefix, str) or "/" in prefix:
        raise TapError(f"config key batch_config.storage.prefix must be a file name prefix without /, got {prefix!r}")
    if storage.get("params"):
        LOGGER.warning(
            "batch_config.storage.params is ignored: the tap writes S3 with its own credentials and s3_endpoint_url"
        )
    size = _as_number("batch_config.batch_size", top.get("batch_size"), DEFAULT_BATCH_SIZE, 1, True, False)
    return BatchConfig(_batch_root(storage.get("root")), prefix, compression, int(size or DEFAULT_BATCH_SIZE))


@dataclass(frozen=True)
class Setting:
    """One config key: its Meltano description and the rule its value is checked by."""

    name: str
    kind: str  # a Meltano setting kind: string, integer, decimal, boolean, array
    label: str
    description: str
    default: Optional[Any] = None
    required: bool = False
    sensitive: bool = False
    minimum: float = 0
    zero_means_default: bool = False  # Stitch's request_timeout: 0 or "" means the default
    choices: tuple[str, ...] = ()  # for a string: the values it may take (Meltano's `options`)
    maximum: Optional[float] = None  # for a number: the largest value it may take

    def parse(self, value: Any) -> Any:
        """The checked value of this key (its default when unset); TapError naming the key."""
        if self.choices:
            return self._choice(value)
        if self.kind == "boolean":
            return _as_bool(self.name, value, self.default)
        if self.kind in ("integer", "decimal"):
            number = _as_number(
                self.name, value, self.default, self.minimum, self.kind == "integer", self.zero_means_default
            )
            if self.maximum is not None and number is not None and number > self.maximum:
                raise TapError(f"config key {self.name} must be at most {self.maximum:g}, got {value!r}")
            return float(number) if self.kind == "decimal" and number is not None else number
        if self.kind == "array":
            return _as_str_list(self.name, value)
        if self.kind == "object":
            return _as_object(self.name, value)
        return _as_str(self.name, value)

    def _choice(self, value: Any) -> Any:
        text = _as_str(self.name, value)
        if text is None:
            return self.default
        for choice in self.choices:
            if text.lower() == choice.lower():
                return choice
        raise TapError(f"config key {self.name} must be one of {', '.join(self.choices)}, got {value!r}")

    def json_schema(self) -> dict[str, Any]:
        json_type = _JSON_TYPES[self.kind]
        schema: dict[str, Any] = {
            "type": json_type if self.required else [json_type, "null"],
            "title": self.label,
            "description": self.description,
        }
        if self.kind == "array":
            schema["items"] = {"type": "string"}
        if self.name == "batch_config":
            schema["properties"] = _BATCH_SCHEMA
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.default is not None:
            schema["default"] = self.default
        if self.sensitive:
            schema["secret"] = True
            schema["writeOnly"] = True
        return schema


_BATCH_SCHEMA: dict[str, Any] = {
    "encoding": {
        "type": "object",
        "properties": {
            "format": {"type": "string", "enum": ["jsonl"]},
            "compression": {"type": "string", "enum": list(BATCH_COMPRESSIONS)},
        },
    },
    "storage": {
        "type": "object",
        "properties": {"root": {"type": "string"}, "prefix": {"type": "string"}},
        "required": ["root"],
    },
    "batch_size": {"type": "integer", "minimum": 1, "default": DEFAULT_BATCH_SIZE},
}

SETTINGS: tuple[Setting, ...] = (
    Setting("region_name", "string", "AWS region", "AWS region of the tables, e.g. us-east-1.", required=True),
    Setting(
        "endpoint_url",
        "string",
        "Endpoint URL",
        "DynamoDB endpoint to use instead of AWS's, e.g. http://localhost:8000 for DynamoDB Local.",
    ),
    Setting(
        "request_timeout",
        "decimal",
        "Request timeout (s)",
        "Seconds to wait for each AWS request before retrying it.",
        300.0,
        minimum=0.001,
        zero_means_default=True,
    ),
    Setting(
        "aws_access_key_id",
        "string",
        "AWS access key ID",
        "Static access key; leave empty to use a profile, a role or boto3's default credential chain.",
        sensitive=True,
    ),
    Setting(
        "aws_secret_access_key", "string", "AWS secret access key", "Secret of the static access key.", sensitive=True
    ),
    Setting(
        "aws_session_token",
        "string",
        "AWS session token",
        "Session token for temporary static credentials.",
        sensitive=True,
    ),
    Setting("aws_profile", "string", "AWS profile", "Named profile from ~/.aws/config or ~/.aws/credentials."),
    Setting(
        "account_id",
        "string",
        "Account ID (assume role)",
        "AWS account whose role the tap assumes (Stitch's config); set with role_name.",
    ),
    Setting("role_name", "string", "Role name (assume role)", "IAM role to assume in account_id (Stitch's config)."),
    Setting(
        "external_id",
        "string",
        "External ID",
        "External ID the role's trust policy requires (Stitch's config).",
        sensitive=True,
    ),
    Setting(
        "proxy_account_id",
        "string",
        "Proxy account ID",
        "Account of an intermediate role assumed first (role chaining); set with proxy_role_name.",
    ),
    Setting("proxy_role_name", "string", "Proxy role name", "Intermediate role assumed before role_name."),
    Setting(
        "use_local_dynamo",
        "boolean",
        "Use local DynamoDB",
        "Stitch's switch for DynamoDB Local at http://localhost:8000 (endpoint_url wins when set).",
        False,
    ),
    Setting(
        "scan_page_size",
        "integer",
        "Scan page size",
        "Items per Scan request (Scan's Limit); the state is saved after every page.",
        1000,
        minimum=1,
    ),
    Setting(
        "consistent_read",
        "boolean",
        "Consistent reads",
        "Use strongly consistent Scans (twice the read capacity).",
        False,
    ),
    Setting(
        "scan_segments",
        "integer",
        "Scan segments",
        "Parallel Scan segments per table; empty for automatic (one per 128 MiB, at most 16).",
        minimum=1,
    ),
    Setting(
        "max_read_capacity_units_per_second",
        "decimal",
        "Read capacity limit (RCU/s)",
        "Upper bound on read capacity units the tap consumes per second; empty for no limit.",
        minimum=0.001,
    ),
    Setting(
        "max_attempts",
        "integer",
        "Max attempts",
        "Attempts per AWS request (first try included) before the run fails.",
        10,
        minimum=1,
    ),
    Setting(
        "tables", "array", "Tables", "Table names or shell patterns (orders_*) to discover; empty for every table."
    ),
    Setting("exclude_tables", "array", "Excluded tables", "Table names or shell patterns to leave out of discovery."),
    Setting(
        "infer_schema_sample_size",
        "integer",
        "Schema sample size",
        "Items per table sampled at discovery to infer the schema; 0 for key attributes only.",
        1000,
    ),
    Setting(
        "default_replication_method",
        "string",
        "Default replication method",
        "Method of streams whose catalog metadata names none: FULL_TABLE, or LOG_BASED wherever the table's "
        "DynamoDB stream allows it (FULL_TABLE elsewhere, and always for index views).",
        "FULL_TABLE",
        choices=("FULL_TABLE", "LOG_BASED"),
    ),
    Setting(
        "stream_tip_empty_pages",
        "integer",
        "Stream tip empty pages",
        "LOG_BASED: consecutive empty GetRecords answers after which an open shard counts as read up to now.",
        3,
        minimum=1,
    ),
    Setting(
        "ttl_deletes",
        "string",
        "TTL deletes",
        "LOG_BASED: what to do with items DynamoDB's Time to Live deleted: delete (a record with _sdc_deleted_at "
        "and _sdc_deleted_by_ttl true) or skip (no record, so the warehouse keeps the row; counted in the report).",
        "delete",
        choices=("delete", "skip"),
    ),
    Setting(
        "on_stream_gap",
        "string",
        "On stream gap",
        "LOG_BASED: what to do when changes were lost (the DynamoDB stream aged out past the bookmark, or was "
        "replaced, and no export could bridge it); INCREMENTAL: when point-in-time recovery no longer reaches "
        "back to the bookmark: resync (reset the bookmarks and replicate the whole table again, as Stitch does) "
        "or fail (stop with an error and keep the bookmarks).",
        "resync",
        choices=("resync", "fail"),
    ),
    Setting(
        "stream_lag_warning_hours",
        "decimal",
        "Stream lag warning (hours)",
        "LOG_BASED: warn when the oldest change unread at the run's start leaves less than this many hours of the "
        "DynamoDB stream's 24-hour retention (run the sync more often); 0 for no warning.",
        6,
    ),
    Setting(
        "number_format",
        "string",
        "Number format",
        "How DynamoDB numbers are written: number (exact JSON numbers) or string (their exact decimal text, "
        "typed string with format singer.decimal, for targets that load JSON numbers as DOUBLE).",
        "number",
        choices=("number", "string"),
    ),
    Setting(
        "record_format",
        "string",
        "Record format",
        "The shape of every record: columns (one column per attribute, the schema widening as new attributes "
        "appear) or packed (the key attributes as columns plus _sdc_item, an object holding the whole item: "
        "a fixed schema for loosely shaped tables). A stream's metadata tap-dynamodb.record-format overrides it.",
        "columns",
        choices=("columns", "packed"),
    ),
    Setting(
        "full_table_source",
        "string",
        "Full table source",
        "Where a full read of a table comes from (FULL_TABLE, and LOG_BASED's initial load): scan (Scan, "
        "through the table's read capacity) or export (DynamoDB's ExportTableToPointInTime to S3: no read "
        "capacity, point-in-time; needs point-in-time recovery and export_s3_bucket). A stream's metadata "
        "tap-dynamodb.full-table-source overrides it.",
        "scan",
        choices=("scan", "export"),
    ),
    Setting(
        "export_s3_bucket",
        "string",
        "Export S3 bucket",
        "S3 bucket DynamoDB writes exports into and the tap reads them from; required when any stream uses exports.",
    ),
    Setting("export_s3_prefix", "string", "Export S3 prefix", "Key prefix of the exports in export_s3_bucket."),
    Setting(
        "export_s3_bucket_owner",
        "string",
        "Export S3 bucket owner",
        "Account ID owning export_s3_bucket, when it is another account's bucket.",
    ),
    Setting(
        "export_s3_sse_algorithm",
        "string",
        "Export S3 encryption",
        "Server-side encryption of the exported objects: AES256 or KMS (with export_s3_kms_key_id).",
        choices=("AES256", "KMS"),
    ),
    Setting(
        "export_s3_kms_key_id",
        "string",
        "Export KMS key ID",
        "KMS key that encrypts the exported objects (export_s3_sse_algorithm KMS); the tap needs kms:Decrypt on it.",
    ),
    Setting(
        "s3_endpoint_url",
        "string",
        "S3 endpoint URL",
        "S3 endpoint to use instead of AWS's (an S3-compatible server or a VPC endpoint); path-style addressing.",
    ),
    Setting(
        "export_poll_seconds",
        "decimal",
        "Export poll interval (s)",
        "Seconds between the first DescribeExport calls while an export runs (then backing off); fractions allowed.",
        20.0,
        minimum=0.001,
    ),
    Setting(
        "export_timeout_minutes",
        "decimal",
        "Export timeout (min)",
        "Minutes to wait for an export to complete before the run fails (a later run continues waiting for it).",
        360.0,
        minimum=0.001,
    ),
    Setting(
        "export_reuse_max_age_minutes",
        "decimal",
        "Reuse exports up to (min)",
        "Reuse the newest COMPLETED full export of the table no older than this many minutes (found with "
        "ListExports) instead of requesting one; 0 never reuses.",
        0.0,
    ),
    Setting(
        "export_format",
        "string",
        "Export format",
        "Format of the exports the tap requests: DYNAMODB_JSON (ION is refused: see docs/exports.md).",
        "DYNAMODB_JSON",
        choices=("DYNAMODB_JSON", "ION"),
    ),
    Setting(
        "export_workers",
        "integer",
        "Export reader processes",
        "Processes that read and decode an export's data files in parallel.",
        2,
        minimum=1,
    ),
    Setting(
        "incremental_window_hours",
        "decimal",
        "Incremental export window (hours)",
        "INCREMENTAL (and the export catch-ups of LOG_BASED): the longest window one incremental export covers, "
        "0.25 to 24 (AWS's limits); a longer span is read as several windows in order.",
        24.0,
        minimum=0.25,
        maximum=24,
    ),
    Setting(
        "incremental_safety_margin_minutes",
        "decimal",
        "Incremental safety margin (minutes)",
        "INCREMENTAL: each run exports the changes up to this long before AWS's present (the table's "
        "LatestRestorableDateTime), leaving the newest minutes to the next run.",
        15.0,
    ),
    Setting(
        "incremental_export_view",
        "string",
        "Incremental export view",
        "What incremental exports carry: NEW_AND_OLD_IMAGES (a delete keeps the row's last values beside "
        "_sdc_deleted_at) or NEW_IMAGE (deletes carry the keys only; smaller exports).",
        "NEW_AND_OLD_IMAGES",
        choices=("NEW_AND_OLD_IMAGES", "NEW_IMAGE"),
    ),
    Setting(
        "stream_gap_export_recovery",
        "boolean",
        "Recover stream gaps by export",
        "LOG_BASED with export_s3_bucket set: when the DynamoDB stream aged out past the bookmark and the "
        "table's point-in-time recovery reaches back to the last change read, catch up with incremental "
        "exports instead of re-replicating the table (on_stream_gap applies otherwise).",
        True,
    ),
    Setting(
        "batch_config",
        "object",
        "Batch files",
        "Full loads (FULL_TABLE, LOG_BASED and INCREMENTAL initial loads; Scan or export) as BATCH messages (Meltano SDK shape): "
        '{"encoding": {"format": "jsonl", "compression": "gzip" or "none"}, "storage": {"root": '
        '"file:///dir" or "s3://bucket/prefix", "prefix": "name-prefix-"}, "batch_size": records per file, '
        f"default {DEFAULT_BATCH_SIZE}}}; empty for RECORD messages only.",
    ),
)

BY_NAME: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}
SECRET_KEYS = tuple(setting.name for setting in SETTINGS if setting.sensitive)
DEFAULTS: Mapping[str, Any] = {setting.name: setting.default for setting in SETTINGS}


@dataclass(frozen=True)
class Config:
    """The checked settings the tap runs with: one field per Setting (use_local_dynamo folds into endpoint_url)."""

    region_name: str
    endpoint_url: Optional[str]
    request_timeout: float
    aws_access_key_id: Optional[str] = field(repr=False)
    aws_secret_access_key: Optional[str] = field(repr=False)
    aws_session_token: Optional[str] = field(repr=False)
    aws_profile: Optional[str]
    account_id: Optional[str]
    role_name: Optional[str]
    external_id: Optional[str] = field(repr=False)
    proxy_account_id: Optional[str]
    proxy_role_name: Optional[str]
    scan_page_size: int
    consistent_read: bool
    scan_segments: Optional[int]
    max_read_capacity_units_per_second: Optional[float]
    max_attempts: int
    tables: Optional[list[str]]
    exclude_tables: Optional[list[str]]
    infer_schema_sample_size: int
    default_replication_method: str
    stream_tip_empty_pages: int
    ttl_deletes: str
    on_stream_gap: str
    stream_lag_warning_hours: float
    number_format: str
    record_format: str
    full_table_source: str
    export_s3_bucket: Optional[str]
    export_s3_prefix: Optional[str]
    export_s3_bucket_owner: Optional[str]
    export_s3_sse_algorithm: Optional[str]
    export_s3_kms_key_id: Optional[str]
    s3_endpoint_url: Optional[str]
    export_poll_seconds: float
    export_timeout_minutes: float
    export_reuse_max_age_minutes: float
    export_format: str
    export_workers: int
    incremental_window_hours: float
    incremental_safety_margin_minutes: float
    incremental_export_view: str
    stream_gap_export_recovery: bool
    batch_config: Optional[BatchConfig]

    def secrets(self) -> list[str]:
        """Every configured value that must never be printed."""
        return [value for value in (getattr(self, key) for key in SECRET_KEYS) if value]

    @property
    def assumes_role(self) -> bool:
        return bool(self.account_id and self.role_name)


_FOLDED = {"use_local_dynamo"}  # settings that shape other fields instead of having their own
assert {f.name for f in fields(Config)} == set(BY_NAME) - _FOLDED, "Config and SETTINGS disagree"

_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("aws_access_key_id", "aws_secret_access_key", "go together; set both or neither"),
    ("account_id", "role_name", "go together to assume a role; set both or neither"),
    ("proxy_account_id", "proxy_role_name", "go together; set both or neither"),
)


def _check_combinations(values: dict[str, Any]) -> None:
    """Rules across keys: Stitch's use_local_dynamo, the endpoint's scheme, keys that come in pairs."""
    if values.pop("use_local_dynamo") and not values["endpoint_url"]:
        values["endpoint_url"] = LOCAL_DYNAMO_URL
    for key in ("endpoint_url", "s3_endpoint_url"):
        endpoint = values[key]
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise TapError(f"config key {key} must start with http:// or https://, got {endpoint!r}")
    values["batch_config"] = parse_batch_config(values["batch_config"])
    if values["export_format"] == "ION":
        raise TapError(
            "config key export_format ION is not supported: the tap reads DYNAMODB_JSON exports only (they hold the "
            "same data and parse several times faster); set export_format to DYNAMODB_JSON or leave it unset"
        )
    if values["export_s3_kms_key_id"] and values["export_s3_sse_algorithm"] != "KMS":
        raise TapError("config key export_s3_kms_key_id needs export_s3_sse_algorithm KMS")
    for first, second, rule in _PAIRS:
        if bool(values[first]) != bool(values[second]):
            raise TapError(f"config keys {first} and {second} {rule}")
    for account in ("account_id", "proxy_account_id"):
        if values[account]:
            values[account] = values[account].replace("-", "")
    if values["scan_segments"] is not None and values["scan_segments"] > MAX_SCAN_SEGMENTS:
        raise TapError(f"config key scan_segments must be at most {MAX_SCAN_SEGMENTS} (DynamoDB's limit)")


def _raw_value(raw: Mapping[str, Any], setting: Setting) -> Any:
    value = raw.get(setting.name)
    if setting.name == "scan_segments" and isinstance(value, str) and value.strip().lower() == "auto":
        return None
    return value


def _normalized(key: str) -> str:
    return key.strip().lower().replace("-", "_").replace(" ", "_")


def _distance(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions, transpositions of neighbours)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def close_setting(key: str) -> Optional[str]:
    """The known setting an unknown key most likely means, or None when it resembles none.

    Close means: the same but for case, `-` or spaces; at most two edits away (one for short
    keys); or the start of a setting's name up to a `_` (`region` → region_name).
    """
    wanted = _normalized(key)
    if len(wanted) < 3:
        return None
    best: Optional[tuple[int, str]] = None
    for name in BY_NAME:
        if wanted == name or name.startswith(wanted + "_"):
            return name
        distance = _distance(wanted, name)
        if distance <= (1 if len(name) <= 6 else 2) and (best is None or distance < best[0]):
            best = (distance, name)
    return best[1] if best else None


def unknown_keys(raw: dict[str, Any]) -> list[str]:
    """Keys the tap does not read; TapError for one that looks like a misspelt setting."""
    unknown = []
    for key in raw:
        if key in BY_NAME or (isinstance(key, str) and key.startswith("_")):
            continue
        meant = close_setting(str(key))
        if meant is not None:
            raise TapError(
                f"config key {key!r} is not a setting; did you mean {meant}? (tap-dynamodb --about lists every setting)"
            )
        unknown.append(str(key))
    return unknown


def parse_config(raw: Any) -> Config:
    """Check a config dict and return a Config, raising TapError naming the first bad key.

    A key that looks like a misspelt setting (`endpiont_url`, `Region_Name`, `region`) is an
    error naming the setting meant; other unknown keys get one warning line, since runners
    such as Meltano may pass keys of their own.
    """
    if not isinstance(raw, dict):
        raise TapError("config must be a JSON object with at least region_name")
    ignored = unknown_keys(raw)
    if ignored:
        LOGGER.warning("Config keys the tap does not read (ignored): %s", ", ".join(sorted(ignored)))
    if not BY_NAME["region_name"].parse(raw.get("region_name")):
        raise TapError('config key region_name is missing; set it to the AWS region of your tables, e.g. "us-east-1"')
    values = {setting.name: setting.parse(_raw_value(raw, setting)) for setting in SETTINGS}
    _check_combinations(values)
    return Config(**values)


def settings_schema() -> dict[str, Any]:
    """The settings as the JSON schema Singer SDK taps print in `--about --format json`."""
    return {
        "type": "object",
        "properties": {s.name: s.json_schema() for s in SETTINGS},
        "required": [s.name for s in SETTINGS if s.required],
    }
