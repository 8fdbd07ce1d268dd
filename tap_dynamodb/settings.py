"""Every config key the tap reads, described once: for `--about` and for Meltano's meltano.yml.

`config.py` checks the values; this module says what each key is for, in the form Meltano
describes plugin settings (name, kind, label, description, sensitive). A unit test keeps
this list, `config.parse_config` and the repository's meltano.yml in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .config import (DEFAULT_MAX_ATTEMPTS, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SAMPLE_SIZE, DEFAULT_SCAN_PAGE_SIZE,
                     DEFAULT_STREAM_TIP_EMPTY_PAGES, SECRET_KEYS)

# Meltano setting kinds → JSON schema types (for `--about --format json`).
_JSON_TYPES = {"string": "string", "integer": "integer", "decimal": "number", "boolean": "boolean",
               "array": "array", "object": "object"}

CAPABILITIES = ("catalog", "discover", "state", "properties", "about", "log-based", "activate-version")


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str
    label: str
    description: str
    default: Optional[Any] = None
    required: bool = False

    @property
    def sensitive(self) -> bool:
        return self.name in SECRET_KEYS

    def json_schema(self) -> dict:
        schema: dict = {"type": [_JSON_TYPES[self.kind], "null"] if not self.required else _JSON_TYPES[self.kind],
                        "title": self.label, "description": self.description}
        if self.kind == "array":
            schema["items"] = {"type": "string"}
        if self.default is not None:
            schema["default"] = self.default
        if self.sensitive:
            schema["secret"] = True
            schema["writeOnly"] = True
        return schema


SETTINGS = (
    Setting("region_name", "string", "AWS region",
            "AWS region of the tables, e.g. us-east-1.", required=True),
    Setting("endpoint_url", "string", "Endpoint URL",
            "DynamoDB endpoint to use instead of AWS's, e.g. http://localhost:8000 for DynamoDB Local."),
    Setting("request_timeout", "decimal", "Request timeout (s)",
            "Seconds to wait for each AWS request before retrying it.", DEFAULT_REQUEST_TIMEOUT),
    Setting("aws_access_key_id", "string", "AWS access key ID",
            "Static access key; leave empty to use a profile, a role or boto3's default credential chain."),
    Setting("aws_secret_access_key", "string", "AWS secret access key",
            "Secret of the static access key."),
    Setting("aws_session_token", "string", "AWS session token",
            "Session token for temporary static credentials."),
    Setting("aws_profile", "string", "AWS profile",
            "Named profile from ~/.aws/config or ~/.aws/credentials."),
    Setting("account_id", "string", "Account ID (assume role)",
            "AWS account whose role the tap assumes (Stitch's config); set with role_name."),
    Setting("role_name", "string", "Role name (assume role)",
            "IAM role to assume in account_id (Stitch's config)."),
    Setting("external_id", "string", "External ID",
            "External ID the role's trust policy requires (Stitch's config)."),
    Setting("proxy_account_id", "string", "Proxy account ID",
            "Account of an intermediate role assumed first (role chaining); set with proxy_role_name."),
    Setting("proxy_role_name", "string", "Proxy role name",
            "Intermediate role assumed before role_name."),
    Setting("use_local_dynamo", "boolean", "Use local DynamoDB",
            "Stitch's switch for DynamoDB Local at http://localhost:8000 (endpoint_url wins when set).", False),
    Setting("scan_page_size", "integer", "Scan page size",
            "Items per Scan request (Scan's Limit); the state is saved after every page.", DEFAULT_SCAN_PAGE_SIZE),
    Setting("consistent_read", "boolean", "Consistent reads",
            "Use strongly consistent Scans (twice the read capacity).", False),
    Setting("scan_segments", "integer", "Scan segments",
            "Parallel Scan segments per table; empty for automatic (one per 128 MiB, at most 16)."),
    Setting("max_read_capacity_units_per_second", "decimal", "Read capacity limit (RCU/s)",
            "Upper bound on read capacity units the tap consumes per second; empty for no limit."),
    Setting("max_attempts", "integer", "Max attempts",
            "Attempts per AWS request (first try included) before the run fails.", DEFAULT_MAX_ATTEMPTS),
    Setting("tables", "array", "Tables",
            "Table names or shell patterns (orders_*) to discover; empty for every table."),
    Setting("exclude_tables", "array", "Excluded tables",
            "Table names or shell patterns to leave out of discovery."),
    Setting("infer_schema_sample_size", "integer", "Schema sample size",
            "Items per table sampled at discovery to infer the schema; 0 for key attributes only.", DEFAULT_SAMPLE_SIZE),
    Setting("stream_tip_empty_pages", "integer", "Stream tip empty pages",
            "LOG_BASED: consecutive empty GetRecords answers after which an open shard counts as read up to now.",
            DEFAULT_STREAM_TIP_EMPTY_PAGES),
)


def settings_schema() -> dict:
    """The settings as the JSON schema Singer SDK taps print in `--about --format json`."""
    return {"type": "object",
            "properties": {s.name: s.json_schema() for s in SETTINGS},
            "required": [s.name for s in SETTINGS if s.required]}
