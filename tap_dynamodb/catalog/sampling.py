"""The sample of items discovery infers a schema from: a bounded Scan of the table or index."""

from __future__ import annotations

from typing import Any, Optional

from ..aws.api import DynamoDB
from ..aws.wire import key_for_botocore

SAMPLE_PAGE = 1000


def sample_items(
    api: DynamoDB, table: dict[str, Any], limit: int, index_name: Optional[str] = None
) -> list[dict[str, Any]]:
    """Up to `limit` items of a table (or index) from a bounded Scan, in wire form."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"TableName": table["TableName"]}
    if index_name:
        params["IndexName"] = index_name
    while len(items) < limit:
        params["Limit"] = min(SAMPLE_PAGE, limit - len(items))
        page = api.scan_page(params).page
        items.extend(page.items)
        if not page.after:
            break
        params["ExclusiveStartKey"] = key_for_botocore(page.after)
    return items
