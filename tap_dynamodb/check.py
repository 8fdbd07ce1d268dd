"""`tap-dynamodb --test`: prove the config reaches DynamoDB before anyone schedules a sync.

It lists the tables (the first call every run makes), so a wrong endpoint, region or
credential fails here with the same one-line message a sync would give.
"""

from __future__ import annotations

from .aws import Clients
from .aws.errors import aws_errors
from .catalog.discover import filter_table_names
from .settings import Config


def connection_check(config: Config, clients: Clients) -> str:
    """One line saying where the tap connected and how many tables it sees; TapError when it cannot."""
    with aws_errors("listing tables", config.endpoint_url):
        names = clients.dynamodb.list_table_names()
    where = config.endpoint_url or f"region {config.region_name}"
    line = f"connection OK: {len(names)} table{'s' if len(names) != 1 else ''} at {where}"
    if config.tables or config.exclude_tables:
        kept = filter_table_names(names, config.tables, config.exclude_tables)
        line += f", {len(kept)} matching tables/exclude_tables"
    return line
