"""The closed AWS seam: the only calls the tap makes, each returning plain data or a Page.

`Clients` hands out these wrappers, never a raw botocore client. That matters because the
fast path (wire.py) takes Scan and GetRecords bodies before botocore parses them: a raw
`scan()` call would see no `Items`. Here the raw answer is always read back through
`wire.raw_response`, so every caller gets wire-form data whichever way the body went.

Errors are botocore's (ClientError with AWS's codes, BotoCoreError); callers translate them
with `aws.errors`, except the two DescribeTable outcomes callers decide on (TableNotFound,
TableAccessDenied).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Optional

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import TapError
from ..page import Page, WireItem
from . import wire
from .errors import ACCESS_DENIED, AUTH_ERRORS, NOT_FOUND, error_code

GET_RECORDS_LIMIT = 1000
LIST_EXPORTS_PAGE = 25  # ListExports' MaxResults limit
PRESIGNED_SECONDS = 3600  # a data file is fetched right after its URL is signed
DELETE_BATCH = 1000  # DeleteObjects' limit


class TableNotFound(Exception):
    """DescribeTable: the table does not exist (or was deleted meanwhile)."""


class TableAccessDenied(Exception):
    """DescribeTable: the credentials may not describe the table; `code` is AWS's error code."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code
        self.access_denied = code in ACCESS_DENIED


class ScanAnswer(NamedTuple):
    page: Page[Optional[WireItem]]  # `after` is LastEvaluatedKey, None at the end
    consumed_units: float  # with ReturnConsumedCapacity=TOTAL; 0 otherwise


def consumed_units(answer: dict[str, Any]) -> float:
    """CapacityUnits of a wire-form answer made with ReturnConsumedCapacity=TOTAL (0 when absent)."""
    consumed = answer.get("ConsumedCapacity") or {}
    return float(consumed.get("CapacityUnits") or 0)


class DynamoDB:
    """DynamoDB's control and data calls the tap makes."""

    def __init__(self, client: Any):
        self._client = client

    @property
    def events(self) -> Any:
        """The client's botocore event system, for instrumentation (tests hook Scan calls with it)."""
        return self._client.meta.events

    def list_table_names(self) -> list[str]:
        """Every table name, following ListTables pages (100 names a page)."""
        names: list[str] = []
        params: dict[str, str] = {}
        while True:
            page = self._client.list_tables(**params)
            names.extend(page.get("TableNames", []))
            last = page.get("LastEvaluatedTableName")
            if not last:
                return names
            params["ExclusiveStartTableName"] = last

    def describe_table(self, name: str) -> dict[str, Any]:
        """DescribeTable's `Table`; TableNotFound or TableAccessDenied for the outcomes callers decide on."""
        try:
            table: dict[str, Any] = self._client.describe_table(TableName=name)["Table"]
            return table
        except ClientError as exc:
            code = error_code(exc)
            if code == NOT_FOUND:
                raise TableNotFound(name) from None
            if code in AUTH_ERRORS:
                raise TableAccessDenied(str(code)) from None
            raise

    def scan_page(self, params: dict[str, Any]) -> ScanAnswer:
        """One Scan request. `ExclusiveStartKey` in `params` is in botocore's form (wire.key_for_botocore)."""
        response = self._client.scan(**params)
        answer = wire.raw_response(response)
        if "Count" not in answer:  # every Scan answer has one; a cut-off body that outlived its retries has not
            raise TapError(
                f"DynamoDB answered a Scan of {params['TableName']} with an incomplete body after "
                "every retry; run again later and it resumes from the last STATE"
            )
        page = Page(answer.get("Items", []), answer.get("LastEvaluatedKey"), wire.numbers_checked(response))
        return ScanAnswer(page, consumed_units(answer))

    # ---- exports to S3 (aws/exports.py drives them) ----

    def describe_continuous_backups(self, table_name: str) -> dict[str, Any]:
        """DescribeContinuousBackups' `ContinuousBackupsDescription` (PITR status and window)."""
        answer: dict[str, Any] = self._client.describe_continuous_backups(TableName=table_name)
        description: dict[str, Any] = answer["ContinuousBackupsDescription"]
        return description

    def aws_clock(self, table_name: str) -> tuple[dict[str, Any], Optional[str]]:
        """DescribeContinuousBackups' description and the answer's HTTP Date header: AWS's clock, to the second.

        LatestRestorableDateTime trails AWS's present by minutes; a catch-up by export must reach
        a moment the tap has just passed (aws/pitr.py), which only the server's own clock tells.
        """
        answer: dict[str, Any] = self._client.describe_continuous_backups(TableName=table_name)
        headers = (answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        date = headers.get("date")
        return answer["ContinuousBackupsDescription"], date if isinstance(date, str) else None

    def export_table_to_point_in_time(self, params: dict[str, Any]) -> dict[str, Any]:
        """ExportTableToPointInTime's `ExportDescription`."""
        description: dict[str, Any] = self._client.export_table_to_point_in_time(**params)["ExportDescription"]
        return description

    def describe_export(self, export_arn: str) -> dict[str, Any]:
        """DescribeExport's `ExportDescription`."""
        description: dict[str, Any] = self._client.describe_export(ExportArn=export_arn)["ExportDescription"]
        return description

    def list_exports(self, table_arn: str) -> list[dict[str, Any]]:
        """Every ExportSummary of the table, following NextToken (botocore has no paginator for it)."""
        summaries: list[dict[str, Any]] = []
        params: dict[str, Any] = {"TableArn": table_arn, "MaxResults": LIST_EXPORTS_PAGE}
        while True:
            page = self._client.list_exports(**params)
            summaries.extend(page.get("ExportSummaries") or [])
            token = page.get("NextToken")
            if not token:
                return summaries
            params["NextToken"] = token


class S3:
    """The S3 calls the tap makes: manifests read here, data files fetched by workers through presigned URLs.

    Worker processes get presigned GET URLs rather than a client, so no credentials (and no
    botocore) ever reach them; the parent signs each URL just before it hands the file out.
    Batch files (output/batch.py) are uploaded from the parent too.
    """

    def __init__(self, client: Any):
        self._client = client

    def head_bucket(self, bucket: str, owner: Optional[str] = None) -> None:
        params = {"Bucket": bucket}
        if owner:
            params["ExpectedBucketOwner"] = owner
        self._client.head_bucket(**params)

    def get_bytes(self, bucket: str, key: str) -> bytes:
        body: bytes = self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def get_json(self, bucket: str, key: str) -> Any:
        return json.loads(self.get_bytes(bucket, key))

    def presigned_get(self, bucket: str, key: str, expires_seconds: int = PRESIGNED_SECONDS) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_seconds
        )
        return url

    # ---- batch files (output/batch.py) ----

    def check_writable(self, bucket: str, probe_key: str) -> None:
        """TapError (one line) unless the bucket exists and takes an object from these credentials.

        HeadBucket tells a missing bucket from refused credentials; a small probe object (put, then
        deleted) proves PutObject is allowed, before any table is read rather than after the first file.
        """
        where = f"batch_config.storage.root s3://{bucket}"
        try:
            self._client.head_bucket(Bucket=bucket)
            self._client.put_object(Bucket=bucket, Key=probe_key, Body=b"")
        except ClientError as exc:
            code = str(error_code(exc))
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise TapError(f"{where}: the bucket does not exist; create it or fix the root") from None
            if code in ("403",) or code in AUTH_ERRORS or code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise TapError(
                    f"{where}: S3 refused the credentials ({code}); the tap needs s3:PutObject (and s3:ListBucket, "
                    "s3:DeleteObject to clean up after a killed run) on it: check the keys, profile or role"
                ) from None
            raise TapError(f"{where}: S3 error {code}: {exc}") from None
        except BotoCoreError as exc:
            raise TapError(f"{where}: cannot reach S3 ({exc}); check s3_endpoint_url and the network") from None
        try:
            self._client.delete_object(Bucket=bucket, Key=probe_key)
        except ClientError:
            pass  # allowed to write but not to delete: the empty probe stays

    def upload_file(self, path: str, bucket: str, key: str) -> None:
        """Upload a local file (one PutObject: parts are tens of MB at most)."""
        with open(path, "rb") as body:
            self._client.put_object(Bucket=bucket, Key=key, Body=body)

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        """Every key under `prefix`, following ListObjectsV2 pages."""
        keys: list[str] = []
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            page = self._client.list_objects_v2(**params)
            keys.extend(entry["Key"] for entry in page.get("Contents") or [])
            token = page.get("NextContinuationToken")
            if not token:
                return keys
            params["ContinuationToken"] = token

    def delete_keys(self, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = keys[start : start + DELETE_BATCH]
            self._client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})


class Streams:
    """The DynamoDB Streams calls the tap makes (any client with the Streams API, a test double too)."""

    def __init__(self, client: Any):
        self._client = client

    def describe_stream(self, stream_arn: str, start_shard_id: Optional[str]) -> dict[str, Any]:
        params = {"StreamArn": stream_arn}
        if start_shard_id:
            params["ExclusiveStartShardId"] = start_shard_id
        description: dict[str, Any] = self._client.describe_stream(**params)["StreamDescription"]
        return description

    def shard_iterator(self, stream_arn: str, shard_id: str, after_sequence: Optional[str]) -> str:
        """An iterator after `after_sequence`, or from TRIM_HORIZON when it is None."""
        params = {"StreamArn": stream_arn, "ShardId": shard_id}
        if after_sequence:
            params.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after_sequence)
        else:
            params["ShardIteratorType"] = "TRIM_HORIZON"
        iterator: str = self._client.get_shard_iterator(**params)["ShardIterator"]
        return iterator

    def get_records(self, iterator: str) -> Page[Optional[str]]:
        """One GetRecords answer: its stream records, and `after` the next iterator (None: shard closed)."""
        response = self._client.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
        answer = wire.raw_response(response)
        return Page(answer.get("Records") or [], answer.get("NextShardIterator"), wire.numbers_checked(response))
