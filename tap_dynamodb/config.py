"""Reading and checking the config file, including the keys Stitch's tap-dynamodb uses.

A Stitch config (account_id, role_name, external_id, region_name, use_local_dynamo,
request_timeout) works unchanged; our own keys add static credentials, profiles, an
endpoint URL and tuning. Every value is checked here, once, so that later code can trust
the `Config` it receives and a wrong value is reported as one line naming the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import TapError

DEFAULT_REQUEST_TIMEOUT = 300.0
DEFAULT_SCAN_PAGE_SIZE = 1000
DEFAULT_SAMPLE_SIZE = 1000
DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_STREAM_TIP_EMPTY_PAGES = 3
LOCAL_DYNAMO_URL = "http://localhost:8000"

SECRET_KEYS = ("aws_secret_access_key", "aws_session_token", "external_id", "aws_access_key_id")


def load_json_file(path: str, what: str) -> Any:
    """Read a JSON file, turning every way it can fail into one actionable TapError."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise TapError(f"{what} file {path} does not exist") from None
    except OSError as exc:
        raise TapError(f"cannot read {what} file {path}: {exc.strerror}") from None
    if not raw.strip():
        raise TapError(f"{what} file {path} is empty; it must hold a JSON object")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TapError(f"{what} file {path} is not valid JSON: {exc}") from None


def _as_bool(key: str, value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise TapError(f"config key {key} must be true or false, got {value!r}")


def _as_number(key: str, value: Any, default: Optional[float], minimum: float,
               integer: bool = False, zero_means_default: bool = False) -> Optional[float]:
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


def _as_str_list(key: str, value: Any) -> Optional[list]:
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


@dataclass(frozen=True)
class Config:
    """The checked settings the tap runs with."""

    region_name: str
    endpoint_url: Optional[str] = None
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    aws_access_key_id: Optional[str] = None
    aws_secret_access_key: Optional[str] = None
    aws_session_token: Optional[str] = None
    aws_profile: Optional[str] = None
    account_id: Optional[str] = None
    role_name: Optional[str] = None
    external_id: Optional[str] = None
    proxy_account_id: Optional[str] = None
    proxy_role_name: Optional[str] = None
    scan_page_size: int = DEFAULT_SCAN_PAGE_SIZE
    consistent_read: bool = False
    scan_segments: Optional[int] = None
    max_read_capacity_units_per_second: Optional[float] = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    tables: Optional[list] = None
    exclude_tables: Optional[list] = None
    infer_schema_sample_size: int = DEFAULT_SAMPLE_SIZE
    stream_tip_empty_pages: int = DEFAULT_STREAM_TIP_EMPTY_PAGES
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def secrets(self) -> list:
        """Every configured value that must never be printed."""
        return [value for value in (getattr(self, key) for key in SECRET_KEYS) if value]

    @property
    def assumes_role(self) -> bool:
        return bool(self.account_id and self.role_name)


def parse_config(raw: Any) -> Config:
    """Check a config dict and return a Config, raising TapError naming the first bad key."""
    if not isinstance(raw, dict):
        raise TapError("config must be a JSON object with at least region_name")
    region = _as_str("region_name", raw.get("region_name"))
    if not region:
        raise TapError("config key region_name is missing; set it to the AWS region of your tables, "
                       "e.g. \"us-east-1\"")
    endpoint = _as_str("endpoint_url", raw.get("endpoint_url"))
    use_local_dynamo = _as_bool("use_local_dynamo", raw.get("use_local_dynamo"), False)
    if not endpoint and use_local_dynamo:
        endpoint = LOCAL_DYNAMO_URL
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise TapError(f"config key endpoint_url must start with http:// or https://, got {endpoint!r}")

    access_key = _as_str("aws_access_key_id", raw.get("aws_access_key_id"))
    secret_key = _as_str("aws_secret_access_key", raw.get("aws_secret_access_key"))
    if bool(access_key) != bool(secret_key):
        raise TapError("config keys aws_access_key_id and aws_secret_access_key go together; set both or neither")
    account_id = _as_str("account_id", raw.get("account_id"))
    role_name = _as_str("role_name", raw.get("role_name"))
    if bool(account_id) != bool(role_name):
        raise TapError("config keys account_id and role_name go together to assume a role; set both or neither")
    proxy_account = _as_str("proxy_account_id", raw.get("proxy_account_id"))
    proxy_role = _as_str("proxy_role_name", raw.get("proxy_role_name"))
    if bool(proxy_account) != bool(proxy_role):
        raise TapError("config keys proxy_account_id and proxy_role_name go together; set both or neither")

    segments_value = raw.get("scan_segments")
    if isinstance(segments_value, str) and segments_value.strip().lower() == "auto":
        segments_value = None
    segments = _as_number("scan_segments", segments_value, None, 1, integer=True)
    if segments is not None and segments > 1000000:
        raise TapError("config key scan_segments must be at most 1000000 (DynamoDB's limit)")

    return Config(
        region_name=region,
        endpoint_url=endpoint,
        request_timeout=_as_number("request_timeout", raw.get("request_timeout"),
                                   DEFAULT_REQUEST_TIMEOUT, 0.001, zero_means_default=True),
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=_as_str("aws_session_token", raw.get("aws_session_token")),
        aws_profile=_as_str("aws_profile", raw.get("aws_profile")),
        account_id=account_id.replace("-", "") if account_id else None,
        role_name=role_name,
        external_id=_as_str("external_id", raw.get("external_id")),
        proxy_account_id=proxy_account.replace("-", "") if proxy_account else None,
        proxy_role_name=proxy_role,
        scan_page_size=_as_number("scan_page_size", raw.get("scan_page_size"),
                                  DEFAULT_SCAN_PAGE_SIZE, 1, integer=True),
        consistent_read=_as_bool("consistent_read", raw.get("consistent_read"), False),
        scan_segments=segments,
        max_read_capacity_units_per_second=_as_number(
            "max_read_capacity_units_per_second", raw.get("max_read_capacity_units_per_second"), None, 0.001),
        max_attempts=_as_number("max_attempts", raw.get("max_attempts"), DEFAULT_MAX_ATTEMPTS, 1, integer=True),
        tables=_as_str_list("tables", raw.get("tables")),
        exclude_tables=_as_str_list("exclude_tables", raw.get("exclude_tables")),
        infer_schema_sample_size=_as_number("infer_schema_sample_size", raw.get("infer_schema_sample_size"),
                                            DEFAULT_SAMPLE_SIZE, 0, integer=True),
        stream_tip_empty_pages=_as_number("stream_tip_empty_pages", raw.get("stream_tip_empty_pages"),
                                          DEFAULT_STREAM_TIP_EMPTY_PAGES, 1, integer=True),
        raw=raw,
    )
