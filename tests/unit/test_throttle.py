"""The read-capacity limiter: a token bucket paid after each request, shared by segments."""

from __future__ import annotations

import pytest

from tap_dynamodb.aws.api import DynamoDB, consumed_units
from tap_dynamodb.readers.capacity import CapacityLimiter, limiter_for
from tap_dynamodb.readers.scan import scan_segment


class FakeClock:
    """A clock that only moves when the limiter sleeps."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_limiter(rate: float) -> tuple:
    clock = FakeClock()
    return CapacityLimiter(rate, clock=clock, sleep=clock.sleep), clock


def test_first_request_starts_at_once_and_the_next_waits_for_the_debt():
    limiter, clock = make_limiter(10)
    limiter.acquire()
    assert clock.sleeps == []
    limiter.spend(35)  # 10 in the bucket - 35 = 25 units of debt: 2.5 s at 10 units/s
    limiter.acquire()
    assert clock.now - 100.0 == pytest.approx(2.5, abs=0.01)


def test_idle_time_refills_at_most_one_second_of_burst():
    limiter, clock = make_limiter(4)
    limiter.acquire()
    limiter.spend(4)
    clock.now += 60  # a long pause earns one second's worth, not sixty
    limiter.acquire()
    limiter.spend(12)
    started = clock.now
    limiter.acquire()
    assert clock.now - started == pytest.approx(2.0, abs=0.01)  # 4 - 12 = -8 units at 4/s


def test_long_runs_stay_within_the_rate():
    limiter, clock = make_limiter(25)
    spent = 0.0
    for cost in [7.5, 40, 0.5, 12, 64, 3, 30, 30, 30, 8] * 5:
        limiter.acquire()
        limiter.spend(cost)
        spent += cost
    elapsed = clock.now - 100.0
    # everything but the burst and the last (unpaid) request was paid for at the rate
    assert spent - 25 - 8 <= elapsed * 25 + 0.01
    assert elapsed * 25 <= spent  # and it did not wait longer than it had to


def test_consumed_units_and_config():
    assert consumed_units({"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 12.5}}) == 12.5
    assert consumed_units({"Items": []}) == 0
    assert limiter_for(None) is None
    assert limiter_for(50).rate == 50
    with pytest.raises(ValueError):
        CapacityLimiter(0)


class FakeScanClient:
    """Test double for a DynamoDB client's `scan`: pages of one item, each costing `units`."""

    def __init__(self, pages: int, units: float, clock: FakeClock):
        self.pages = pages
        self.units = units
        self.clock = clock
        self.calls = []

    def scan(self, **params):
        self.calls.append((self.clock.now, dict(params)))
        n = len(self.calls)
        answer = {
            "Items": [{"id": {"S": str(n)}}],
            "Count": 1,
            "ScannedCount": 1,
            "ConsumedCapacity": {"TableName": params["TableName"], "CapacityUnits": self.units},
        }
        if n < self.pages:
            answer["LastEvaluatedKey"] = {"id": {"S": str(n)}}
        return answer


def test_scan_asks_for_consumed_capacity_and_paces_its_pages():
    limiter, clock = make_limiter(10)
    client = FakeScanClient(pages=6, units=20, clock=clock)
    pages = list(scan_segment(DynamoDB(client), {"TableName": "t", "Limit": 1000}, 0, 1, None, limiter))
    assert len(pages) == 6
    assert all(params["ReturnConsumedCapacity"] == "TOTAL" for _, params in client.calls)
    starts = [at - 100.0 for at, _ in client.calls]
    # 10 units of burst, then every 20-unit page needs 2 s at 10 units/s
    assert starts == pytest.approx([0, 1, 3, 5, 7, 9], abs=0.01)


def test_scan_without_limiter_does_not_ask_for_capacity():
    clock = FakeClock()
    client = FakeScanClient(pages=2, units=20, clock=clock)
    list(scan_segment(DynamoDB(client), {"TableName": "t"}, 0, 1, None))
    assert all("ReturnConsumedCapacity" not in params for _, params in client.calls)
