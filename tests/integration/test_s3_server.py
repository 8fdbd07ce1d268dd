"""The S3 server the export tests stand on (devtools/s3_server.py) behaves like S3 where they rely on it."""

from __future__ import annotations

import hashlib
import urllib.request


def test_put_then_get_round_trips_with_an_md5_etag(s3_server, s3_bucket):
    client = s3_server.client()
    body = b'{"Item": {"id": {"S": "a"}}}\n' * 100
    put = client.put_object(Bucket=s3_bucket, Key="prefix/AWSDynamoDB/x/data/a.json.gz", Body=body)
    # A plain (single-part) put's ETag is the MD5 hex of the bytes, quoted, as on AWS.
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = client.get_object(Bucket=s3_bucket, Key="prefix/AWSDynamoDB/x/data/a.json.gz")
    assert got["Body"].read() == body
    assert got["ETag"] == put["ETag"]
    listed = client.list_objects_v2(Bucket=s3_bucket, Prefix="prefix/")
    assert [o["Key"] for o in listed["Contents"]] == ["prefix/AWSDynamoDB/x/data/a.json.gz"]


def test_presigned_get_needs_no_client(s3_server, s3_bucket):
    """Export readers hand worker processes presigned URLs; a plain urllib GET must work."""
    client = s3_server.client()
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"hello")
    url = client.generate_presigned_url("get_object", Params={"Bucket": s3_bucket, "Key": "k"}, ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"hello"
