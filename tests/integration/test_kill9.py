"""Kill -9 anywhere: SIGKILL the tap at 20 seeded points of a sync, resume each time from the last
STATE it emitted, and check that nothing is lost, that duplicates stay within the records after
that STATE, and that no STATE ever reaches the reader before the records it covers.
"""

from __future__ import annotations

import random
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

import pytest

from devtools.tap_runner import REPO_ROOT, local_env, parse_message, tap_command, write_json

ITEMS = 300
PAGE = 7
KILLS = 20
SEED = 2026


@dataclass
class Run:
    """What a reader got from one tap run: every complete line, and whether we killed it."""

    messages: list
    killed: bool
    returncode: int
    stderr: str = ""

    def records(self) -> list:
        return [m["record"] for m in self.messages if m.get("type") == "RECORD"]

    def states(self) -> list:
        return [m["value"] for m in self.messages if m.get("type") == "STATE"]

    def completed_pass(self, table: str) -> bool:
        """True when the scan's end reached the reader: an ACTIVATE_VERSION (at the start of a
        first run, at the end of a resumed or repeated scan), then a STATE marking the table
        complete with no scan in progress (a kill can land after that)."""
        activated = False
        for message in self.messages:
            activated = activated or message.get("type") == "ACTIVATE_VERSION"
            if activated and message.get("type") == "STATE":
                bookmark = message["value"]["bookmarks"][table]
                if bookmark.get("initial_full_table_complete") and not (
                    bookmark.get("last_evaluated_key") or bookmark.get("scan_segments")
                ):
                    return True
        return False

    def records_after_last_state(self) -> int:
        count = 0
        for message in self.messages:
            if message.get("type") == "STATE":
                count = 0
            elif message.get("type") == "RECORD":
                count += 1
        return count


def run_and_kill(
    workdir, config: dict, catalog: dict, state: Optional[dict], kill_after: Optional[int], after_state: bool
) -> Run:
    """Run the tap reading stdout line by line; SIGKILL it once `kill_after` records have arrived
    (or at the first STATE after that, with `after_state`). The pipe is then drained: whatever the
    tap wrote before it died is what a target would have received; a cut-off last line is dropped."""
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        *tap_command(),
        "--config",
        str(write_json(workdir / "config.json", config)),
        "--catalog",
        str(write_json(workdir / "catalog.json", catalog)),
    ]
    if state is not None:
        args += ["--state", str(write_json(workdir / "state.json", state))]
    stderr_path = workdir / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            args, cwd=str(REPO_ROOT), env=local_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr
        )
        lines, records, killed = [], 0, False
        for line in proc.stdout:
            lines.append(line)
            is_record = line.startswith(b'{"type":"RECORD"')
            records += is_record
            if kill_after is not None and records >= kill_after:
                if not after_state or line.startswith(b'{"type":"STATE"'):
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
        lines.extend(proc.stdout.read().splitlines(keepends=True))
        returncode = proc.wait(timeout=120)
        proc.stdout.close()
    complete = [line for line in lines if line.endswith(b"\n")]
    return Run([parse_message(line) for line in complete], killed, returncode, stderr_path.read_text())


def scan_order(ddb, table: str, segments: int) -> dict:
    """{segment: [ids in the order Scan returns them]}, with the tap's page size."""
    order = {}
    for segment in range(segments):
        params = {"TableName": table, "Limit": PAGE}
        if segments > 1:
            params.update(Segment=segment, TotalSegments=segments)
        ids = []
        for page in ddb.get_paginator("scan").paginate(**params):
            ids.extend(item["id"]["S"] for item in page["Items"])
        order[segment] = ids
    return order


def covered_ids(bookmark: dict, order: dict) -> set:
    """The ids a mid-scan bookmark says have been written (all ids up to each segment's key)."""
    covered = set()
    if bookmark.get("scan_segments") is not None:
        for segment in bookmark.get("finished_segments", []):
            covered.update(order[segment])
        for segment, key in bookmark.get("segment_keys", {}).items():
            ids = order[int(segment)]
            covered.update(ids[: ids.index(key["id"]["S"]) + 1])
    elif bookmark.get("last_evaluated_key"):
        ids = order[0]
        covered.update(ids[: ids.index(bookmark["last_evaluated_key"]["id"]["S"]) + 1])
    return covered


@dataclass
class Pass:
    """One complete replication of the table, possibly over many killed runs."""

    seen: Counter = field(default_factory=Counter)
    duplicates_allowed: int = 0


@pytest.mark.parametrize("segments", [1, 3], ids=["one-segment", "three-segments"])
def test_sigkill_anywhere_in_full_table_loses_nothing(
    segments, tmp_path, ddb, make_table, run_tap, tap_config, select_streams
):
    table = make_table(
        items=[{"id": {"S": f"k{n:04d}"}, "n": {"N": str(n)}} for n in range(ITEMS)], name_prefix="kill9"
    )
    catalog = select_streams(run_tap("--discover").catalog, [table])
    config = dict(tap_config, scan_page_size=PAGE, scan_segments=segments)
    order = scan_order(ddb, table, segments)
    all_ids = {i for ids in order.values() for i in ids}
    assert len(all_ids) == ITEMS

    rng = random.Random(SEED + segments)
    kill_points = [rng.randint(0, 60) for _ in range(KILLS)]
    state, current, kills, completed = None, Pass(), 0, 0
    for number in range(200):
        kill_after = kill_points[kills] if kills < KILLS else None
        run = run_and_kill(tmp_path / f"run{number}", config, catalog, state, kill_after, after_state=kills % 2 == 1)
        resumed_from = covered_ids((state or {}).get("bookmarks", {}).get(table, {}), order)
        run_ids = [r["id"] for r in run.records()]
        assert not resumed_from & set(run_ids), "a resumed run re-read items its STATE already covered"
        if resumed_from:
            version = state["bookmarks"][table]["version"]
            assert {m["version"] for m in run.messages if m.get("type") == "RECORD"} <= {version}, (
                "a resumed run keeps the interrupted run's table version"
            )
        for message in run.messages:
            if message.get("type") == "RECORD":
                current.seen[message["record"]["id"]] += 1
            elif message.get("type") == "STATE":
                missing = covered_ids(message["value"]["bookmarks"][table], order) - set(current.seen)
                assert not missing, f"a STATE arrived before {len(missing)} of the records it covers"
        if run.states():
            state = run.states()[-1]
        if run.killed:
            assert run.returncode == -signal.SIGKILL
            kills += 1
            current.duplicates_allowed += run.records_after_last_state()
            if not run.completed_pass(table):
                continue
        else:
            assert run.returncode == 0 and run.completed_pass(table), run.stderr[-3000:]
        assert set(current.seen) == all_ids, f"{len(all_ids - set(current.seen))} items lost"
        duplicates = sum(current.seen.values()) - ITEMS
        assert duplicates <= current.duplicates_allowed
        completed += 1
        current = Pass()
        if kills >= KILLS:
            break
    assert kills == KILLS and completed >= 1
    print(f"{segments} segment(s): {kills} kills survived over {completed} complete passes")


CHANGES_PER_ROUND = 250
STREAM_KEYS = 60


def stream_sequence_numbers(ddb, streams_client, table: str) -> dict:
    """{change number c: sequence number} of every INSERT/MODIFY in the table's (single) open shard."""
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shards = streams_client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert len(shards) == 1, "DynamoDB Local keeps one shard per table"
    iterator = streams_client.get_shard_iterator(
        StreamArn=arn, ShardId=shards[0]["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    sequence = {}
    for _ in range(1000):
        answer = streams_client.get_records(ShardIterator=iterator, Limit=1000)
        for record in answer["Records"]:
            change = record["dynamodb"]
            sequence[int(change["NewImage"]["c"]["N"])] = int(change["SequenceNumber"])
        iterator = answer.get("NextShardIterator")
        if not answer["Records"]:
            return sequence
    raise AssertionError("the shard never reached its tip")


def test_sigkill_anywhere_in_log_based_loses_no_change(
    tmp_path, ddb, streams_client, make_table, run_tap, tap_config, select_streams
):
    from tests.helpers import batch_write

    table = make_table(
        stream="NEW_IMAGE",
        name_prefix="kill9log",
        items=[{"id": {"S": f"s{n:03d}"}, "c": {"N": str(-1 - n)}} for n in range(STREAM_KEYS)],
    )
    catalog = select_streams(
        run_tap("--discover", config=tap_config.with_(tables=[table])).catalog, [table], method="LOG_BASED"
    )
    config = dict(tap_config)
    initial = run_tap(config=tap_config, catalog=catalog)
    assert len(initial.records(table)) == STREAM_KEYS
    state = initial.last_state

    rng = random.Random(SEED)
    runs, kills, written, round_number = [], 0, 0, 0
    while kills < KILLS:
        round_number += 1
        assert round_number < 100, "the kills did not happen"
        batch_write(
            ddb,
            table,
            [
                {"id": {"S": f"s{c % STREAM_KEYS:03d}"}, "c": {"N": str(c)}}
                for c in range(written, written + CHANGES_PER_ROUND)
            ],
        )
        written += CHANGES_PER_ROUND
        run = run_and_kill(
            tmp_path / f"log{round_number}",
            config,
            catalog,
            state,
            kill_after=rng.randint(0, CHANGES_PER_ROUND),
            after_state=round_number % 2 == 0,
        )
        runs.append(run)
        kills += run.killed
        assert run.killed or run.returncode == 0, run.stderr[-3000:]
        state = run.states()[-1] if run.states() else state
    final = run_and_kill(tmp_path / "log-final", config, catalog, state, kill_after=None, after_state=False)
    assert final.returncode == 0, final.stderr[-3000:]
    runs.append(final)

    # Nothing lost: every change reached the output at least once.
    seen = Counter(r["c"] for run in runs for r in run.records())
    assert set(range(written)) <= set(seen), f"{len(set(range(written)) - set(seen))} changes lost"
    # Duplicates: only records after a killed run's last STATE are read again.
    allowed = sum(run.records_after_last_state() for run in runs if run.killed)
    assert sum(seen.values()) - written <= allowed
    # No STATE before the records it covers: every change up to a STATE's sequence number was out before it.
    sequence = stream_sequence_numbers(ddb, streams_client, table)
    out = set()
    for run in runs:
        for message in run.messages:
            if message.get("type") == "RECORD":
                out.add(message["record"]["c"])
            elif message.get("type") == "STATE":
                positions = message["value"]["bookmarks"][table].get("shard_seq_numbers") or {}
                for position in positions.values():
                    covered = {c for c, seq in sequence.items() if c >= 0 and position and seq <= int(position)}
                    assert covered <= out, f"a STATE arrived before {len(covered - out)} of the changes it covers"
    print(
        f"LOG_BASED: {kills} kills survived, {written} changes, {sum(seen.values()) - written} duplicates "
        f"(allowed {allowed})"
    )


# --------------------------------------------------------------------------
# Batch files: kill -9 between a part and its BATCH message, and between the BATCH and its STATE
# --------------------------------------------------------------------------

BATCH_ITEMS = 240
BATCH_SIZE = 20


def run_and_kill_at_batch(workdir, config: dict, catalog: dict, state: Optional[dict], batch_number: int, keep: bool):
    """Run the tap and SIGKILL it as its `batch_number`th BATCH line arrives. The lines a target gets
    are those before that BATCH (`keep` False: the part is complete on disk, its BATCH never
    arrived) or up to and including it (`keep` True: the BATCH arrived, the STATE after it did not).
    Whatever else the killed tap had written to disk by then stays there, as after a real crash."""
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        *tap_command(),
        "--config",
        str(write_json(workdir / "config.json", config)),
        "--catalog",
        str(write_json(workdir / "catalog.json", catalog)),
    ]
    if state is not None:
        args += ["--state", str(write_json(workdir / "state.json", state))]
    with open(workdir / "stderr.txt", "wb") as stderr:
        proc = subprocess.Popen(
            args, cwd=str(REPO_ROOT), env=local_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr
        )
        lines, batches = [], 0
        for line in proc.stdout:
            if line.startswith(b'{"type":"BATCH"'):
                batches += 1
                if batches == batch_number:
                    proc.send_signal(signal.SIGKILL)
                    if keep:
                        lines.append(line)
                    break
            lines.append(line)
        proc.stdout.read()
        returncode = proc.wait(timeout=120)
        proc.stdout.close()
    assert returncode == -signal.SIGKILL, "the tap ended before the kill"
    return lines


def _load_lines(target_bin, target_config, lines: list) -> None:
    done = subprocess.run(
        [str(target_bin), "--config", str(target_config)],
        input=b"".join(lines),
        capture_output=True,
        env=local_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-4000:]


def _announced(lines: list) -> set:
    """The file names the BATCH messages among `lines` announce."""
    return {
        url.rsplit("/", 1)[-1]
        for line in lines
        if line.startswith(b'{"type":"BATCH"')
        for url in parse_message(line)["manifest"]
    }


def _deliveries(lines: list) -> Counter:
    """How many times each id reached the target in a BATCH file it was handed."""
    from tests.helpers import batch_records

    return Counter(r["id"] for r in batch_records(parse_message(line) for line in lines))


@pytest.mark.slow
@pytest.mark.parametrize("keep", [False, True], ids=["between-part-and-batch", "between-batch-and-state"])
def test_sigkill_around_a_batch_message_loses_nothing_in_postgres(
    keep, tmp_path, make_table, catalog_for, tap_config, postgres, target_postgres_bin
):
    import os

    from tests.helpers import batch_config

    items = [{"id": {"S": f"b{n:04d}"}, "n": {"N": f"{n}.{'7' * 30}"}} for n in range(BATCH_ITEMS)]
    table = make_table(items=items, name_prefix="kill9batch")
    catalog = catalog_for(table)
    root = tmp_path / "batches"
    config = dict(
        tap_config.with_(scan_page_size=PAGE, scan_segments=3),
        batch_config=batch_config(f"file://{root}", "gzip", BATCH_SIZE),
    )
    schema = f"kill9_{'kept' if keep else 'cut'}"
    target_config = write_json(tmp_path / "target.json", postgres.target_config(schema))

    killed = run_and_kill_at_batch(tmp_path / "killed", config, catalog, None, batch_number=4, keep=keep)
    _load_lines(target_postgres_bin, target_config, killed)
    if not keep:
        left = set(os.listdir(root)) - _announced(killed)
        assert left, "the killed run left a complete part whose BATCH the target never got"
    state = [parse_message(line)["value"] for line in killed if line.startswith(b'{"type":"STATE"')][-1]
    assert state["bookmarks"][table]["batch_parts"], "the kill came after some parts were announced"

    done = subprocess.run(
        [
            *tap_command(),
            "--config",
            str(write_json(tmp_path / "c.json", config)),
            "--catalog",
            str(write_json(tmp_path / "cat.json", catalog)),
            "--state",
            str(write_json(tmp_path / "s.json", state)),
        ],
        capture_output=True,
        env=local_env(),
        cwd=str(REPO_ROOT),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    resumed = done.stdout.splitlines(keepends=True)
    _load_lines(target_postgres_bin, target_config, resumed)

    rows = postgres.rows(f'{schema}."{table}"', "id")
    assert [(r["id"], str(r["n"])) for r in rows] == [(f"b{n:04d}", f"{n}.{'7' * 30}") for n in range(BATCH_ITEMS)]
    assert all(r["_sdc_deleted_at"] is None for r in rows)
    deliveries = _deliveries(killed) + _deliveries(resumed)
    assert set(deliveries) == {r["id"] for r in rows}
    twice = {key for key, times in deliveries.items() if times > 1}
    if keep:
        # The BATCH that reached the target without its STATE is written and announced again: those
        # records, and only those, are loaded twice, and the upsert on the key keeps one row each.
        last_batch = parse_message(killed[-1])
        assert last_batch["type"] == "BATCH"
        assert twice == set(_deliveries([killed[-1]])) and len(twice) >= BATCH_SIZE
        resumed_manifests = [m["manifest"] for m in map(parse_message, resumed) if m["type"] == "BATCH"]
        assert last_batch["manifest"] in resumed_manifests, "the part is re-announced under the same name"
    else:
        assert not twice, "a part whose BATCH never arrived is loaded once, after the resume"
    # The root holds exactly the files BATCH messages named: the killed run's unannounced parts
    # (complete or .partial) were removed or overwritten by the resumed run.
    assert set(os.listdir(root)) == _announced(killed + resumed)
