"""tap-dynamodb: a Singer tap for Amazon DynamoDB (FULL_TABLE scans and LOG_BASED streams)."""

__version__ = "0.1.0"
