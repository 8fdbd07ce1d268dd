"""The one retry policy (aws/retries.py): which failures get which budget, decided per attempt."""

from types import SimpleNamespace

import pytest

from tap_dynamodb.aws import retries


def answer(status: int, code=None, body: bytes = b"{}", length=None):
    headers = {"content-length": str(len(body) if length is None else length)}
    parsed = {"Error": {"Code": code}} if code else {}
    return SimpleNamespace(status_code=status, headers=headers, content=body), parsed


def test_limit_exceeded_gets_a_longer_budget_than_other_failures():
    assert retries.budget_for(answer(400, "LimitExceededException"), 4) == 4 * retries.LIMIT_EXCEEDED_ATTEMPTS_FACTOR
    assert retries.budget_for(answer(400, "ProvisionedThroughputExceededException"), 4) == 4
    assert retries.budget_for(None, 4) == 4


@pytest.mark.parametrize(
    "response, expected",
    [
        (answer(200), None),
        (answer(200, body=b"{}", length=10), retries.TRUNCATED),
        (answer(503, "ServiceUnavailable"), "HTTP 503 ServiceUnavailable"),
        (answer(500, "500"), "HTTP 500"),
    ],
)
def test_attempt_failure_names_the_cause(response, expected):
    assert retries.attempt_failure(response) == expected


def test_the_policy_retries_past_botocore_only_where_it_should(monkeypatch):
    handlers = {}

    class Events:
        def register_first(self, event, handler, unique_id):
            handlers[unique_id] = handler

        def register(self, event, handler, unique_id):
            handlers[unique_id] = handler

    service_id = SimpleNamespace(hyphenize=lambda: "dynamodb-streams", __str__=lambda self: "DynamoDB Streams")
    client = SimpleNamespace(
        meta=SimpleNamespace(service_model=SimpleNamespace(service_id=service_id), events=Events())
    )
    retries.install_retry_policy(client, max_attempts=2)
    beyond = handlers["tap-dynamodb-retry-beyond-botocore"]
    monkeypatch.setattr(retries.random, "random", lambda: 1.0)  # the upper end of the jitter

    limited = answer(400, "LimitExceededException")
    assert beyond(response=limited, attempts=1) is None  # within max_attempts: botocore's own retry
    assert beyond(response=limited, attempts=2) == 2.0  # past it: ours, with the same backoff
    assert beyond(response=limited, attempts=5) == 16.0
    assert beyond(response=limited, attempts=6) is None  # 2 × 3 attempts spent
    assert beyond(response=answer(200, length=99), attempts=1) == 1.0  # a cut-off body, which botocore would parse
    assert beyond(response=answer(200, length=99), attempts=2) is None
    assert beyond(response=answer(503, "ServiceUnavailable"), attempts=1) is None  # left to botocore
