"""Export streams with batch_config, through the export TEST DOUBLE (devtools/export_double.py) and
a real S3 server: the worker processes write each data file's records into batch parts, the parent
announces them (BATCH) before the STATE that covers them; the files hold exactly a Scan's records;
kill -9 anywhere and resume loses nothing, announces no records under two names, leaves no
unannounced file and requests no second export."""

from __future__ import annotations

import os
import random
import signal
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from devtools.tap_runner import REPO_ROOT, local_env, parse_message, tap_command, write_json
from tests import helpers
from tests.helpers import batch_config, batch_records
from tests.integration.test_export_full_table import by_id

VERSION = "_sdc_table_version"


@pytest.fixture
def batched_export(make_table, export_double, export_config, catalog_for):
    """(table, catalog, config): 230 items in several data files (and an empty partition's), read from exports."""
    export_double.partitions = 5
    export_double.items_per_file = 20
    export_double.in_progress_polls = 1
    table = make_table(items=helpers.export_items(230), name_prefix="exbatch")
    export_double.enable_pitr(table)
    return table, catalog_for(table), export_config.with_(full_table_source="export")


def check_batch_before_state(messages: list, table: str, ids: dict[int, list[str]], s3_client=None) -> None:
    """No RECORD; SCHEMA before the first BATCH; every STATE covers only records of parts announced before it."""
    assert not [m for m in messages if m["type"] == "RECORD"], "an export full load with batch_config wrote RECORDs"
    announced: set = set()
    seen_schema = False
    for message in messages:
        if message["type"] == "SCHEMA":
            seen_schema = True
        elif message["type"] == "BATCH":
            assert seen_schema and message["stream"] == table and len(message["manifest"]) == 1
            announced.update(r["id"] for r in batch_records([message], s3_client))
        elif message["type"] == "STATE":
            missing = helpers.export_covered_ids(message["value"]["bookmarks"].get(table, {}), ids) - announced
            assert not missing, f"a STATE covers {len(missing)} records of no announced part"


def export_arn(double) -> str:
    return next(p["ExportArn"] for op, p in double.requests if op == "DescribeExport")


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_export_batch_files_hold_exactly_a_scans_records(
    compression, batched_export, export_double, s3_server, run_tap, tap_config, tmp_path
):
    table, catalog, config = batched_export
    scanned = run_tap(catalog=catalog, config=tap_config)
    root = tmp_path / "batches"
    batched = run_tap(catalog=catalog, config=config.with_(batch_config=batch_config(f"file://{root}", compression, 8)))
    ids = helpers.export_file_ids(export_double, s3_server, export_arn(export_double))
    check_batch_before_state(batched.messages, table, ids)
    batches = batched.of_type("BATCH")
    lines = batch_records(batches)
    version = batched.last_state["bookmarks"][table]["version"]
    assert {r.pop(VERSION) for r in lines} == {m["version"] for m in batches} == {version}
    assert len(lines) == 230 and by_id(lines) == by_id(scanned.records())
    assert batched.schemas()[-1]["schema"] == scanned.schemas()[-1]["schema"]
    assert len(batches) == sum(-(-len(file) // 8) for file in ids.values())  # ceil(lines / 8) parts per file
    announced = sorted(Path(url[len("file://") :]).name for m in batches for url in m["manifest"])
    assert sorted(os.listdir(root)) == announced and len(set(announced)) == len(announced)
    suffix = ".jsonl.gz" if compression == "gzip" else ".jsonl"
    assert all(name.startswith(f"{table}-{version}-") and name.endswith(suffix) for name in announced)
    assert batched.of_type("ACTIVATE_VERSION") and len(helpers.export_requests(export_double)) == 1
    bookmark = batched.last_state["bookmarks"][table]
    assert "export" not in bookmark and bookmark["initial_full_table_complete"]
    assert batched.counts().get("BATCH") == len(batches)


def test_export_batch_files_on_s3(batched_export, export_double, s3_server, s3_bucket, run_tap, tap_config):
    table, catalog, config = batched_export
    scanned = run_tap(catalog=catalog, config=tap_config)
    root = f"s3://{s3_bucket}/batches/deep"
    batched = run_tap(catalog=catalog, config=config.with_(batch_config=batch_config(root, "gzip", 15, prefix="x-")))
    client = s3_server.client()
    ids = helpers.export_file_ids(export_double, s3_server, export_arn(export_double))
    check_batch_before_state(batched.messages, table, ids, client)
    batches = batched.of_type("BATCH")
    lines = batch_records(batches, client)
    for line in lines:
        line.pop(VERSION)
    assert by_id(lines) == by_id(scanned.records())
    urls = [url for m in batches for url in m["manifest"]]
    assert all(url.startswith(f"{root}/x-{table}-") for url in urls)
    listed = client.list_objects_v2(Bucket=s3_bucket, Prefix="batches/").get("Contents", [])
    assert sorted(o["Key"] for o in listed) == sorted(url.split(f"{s3_bucket}/", 1)[1] for url in urls)


def test_incremental_first_export_batches_and_its_windows_stay_records(
    make_table, export_double, export_config, catalog_for, run_tap, tmp_path
):
    """INCREMENTAL: its first full read (an export) goes to batch files; a change window is RECORDs."""

    export_double.partitions, export_double.items_per_file = 2, 30
    table = make_table(items=helpers.export_items(50), name_prefix="exbatch_incr")
    export_double.enable_pitr(table)
    config = export_config.with_(batch_config=batch_config(f"file://{tmp_path / 'b'}", "gzip", 20))
    catalog = catalog_for(table, method="INCREMENTAL")
    first = run_tap(catalog=catalog, config=config)
    assert not first.records() and len(batch_records(first.of_type("BATCH"))) == 50
    helpers.client_via(export_double).put_item(TableName=table, Item={"id": {"S": "later"}, "n": {"N": "1"}})
    export_double.advance_clock(3600)
    second = run_tap(catalog=catalog, config=config, state=first.last_state)
    assert not second.of_type("BATCH") and "later" in {r["id"] for r in second.records()}


def run_until_batch(workdir: Path, config: dict, catalog: dict, state: Optional[dict], kill: Optional[tuple]) -> tuple:
    """Run the tap; with `kill` (n, how) SIGKILL it at its nth BATCH line: `drop` (the target never
    got that BATCH), `keep` (it got the BATCH, not its STATE) or `state` (at the next STATE, not
    delivered). The lines a target got, and whether the tap was killed."""
    workdir.mkdir(parents=True, exist_ok=True)
    args = [*tap_command(), "--config", str(write_json(workdir / "config.json", config))]
    args += ["--catalog", str(write_json(workdir / "catalog.json", catalog))]
    if state is not None:
        args += ["--state", str(write_json(workdir / "state.json", state))]
    with open(workdir / "stderr.txt", "wb") as stderr:
        proc = subprocess.Popen(
            args, cwd=str(REPO_ROOT), env=local_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr
        )
        assert proc.stdout is not None
        lines, batches, killed, armed = [], 0, False, False
        for line in proc.stdout:
            batches += line.startswith(b'{"type":"BATCH"')
            if kill is not None and not killed:
                number, how = kill
                at_batch = line.startswith(b'{"type":"BATCH"') and batches == number
                if at_batch and how in ("drop", "keep"):
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    if how == "keep":
                        lines.append(line)
                    break
                armed = armed or at_batch
                if armed and line.startswith(b'{"type":"STATE"'):
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
            lines.append(line)
        proc.stdout.read()
        returncode = proc.wait(timeout=120)
    if killed:
        assert returncode == -signal.SIGKILL
    else:
        assert returncode == 0, (workdir / "stderr.txt").read_text()[-3000:]
    return [parse_message(line) for line in lines if line.endswith(b"\n")], killed


def test_kill_9_during_a_batched_export_read_loses_nothing_and_announces_each_record_under_one_name(
    make_table, export_double, export_config, catalog_for, s3_server, tmp_path
):
    """Killed and resumed runs until one completes: every record is in an announced part, each record
    in parts of one name only (a re-announced part has the same name and records), the root holds
    only announced parts, the export is requested once, and no STATE covers an unannounced record."""
    export_double.partitions, export_double.items_per_file = 3, 45
    table = make_table(items=helpers.export_items(230), name_prefix="exbatch_kill")
    export_double.enable_pitr(table)
    root = tmp_path / "batches"
    config = dict(
        export_config.with_(full_table_source="export", batch_config=batch_config(f"file://{root}", "gzip", 10))
    )
    catalog = catalog_for(table)
    rng = random.Random(7)
    kills = [(rng.randint(1, 3), how) for how in ("drop", "keep", "state", "drop", "keep", "state")]
    state, received, killed_runs = None, [], 0
    for number, kill in enumerate([*kills, None]):
        messages, killed = run_until_batch(tmp_path / f"run{number}", config, catalog, state, kill)
        received.extend(messages)
        states = [m["value"] for m in messages if m["type"] == "STATE"]
        if states:
            state = states[-1]
        killed_runs += killed
        if not killed:
            break
    assert killed_runs == len(kills), "a run ended before its kill"
    assert len(helpers.export_requests(export_double)) == 1, "a resumed run requested a second export"
    ids = helpers.export_file_ids(export_double, s3_server, export_arn(export_double))
    check_batch_before_state(received, table, ids)
    names_of: dict = {}
    for message in (m for m in received if m["type"] == "BATCH"):
        (url,) = message["manifest"]
        for record in batch_records([message]):
            names_of.setdefault(record["id"], set()).add(Path(url).name)
    assert set(names_of) == {f"k{n:04d}" for n in range(230)}, "records lost"
    assert all(len(names) == 1 for names in names_of.values()), "records announced under two names"
    announced = [Path(m["manifest"][0]).name for m in received if m["type"] == "BATCH"]
    assert sorted(os.listdir(root)) == sorted(set(announced)), "unannounced parts left in the root"
    assert len(announced) > len(set(announced)), "a BATCH without its STATE is announced again, by the same name"
    stderr = "".join((tmp_path / f"run{n}" / "stderr.txt").read_text() for n in range(number + 1))
    assert "never announced" in stderr, "no resumed run had parts to clean up: the kills came too late"
    assert "export" not in state["bookmarks"][table]
