"""`make bench`: CPU, wall time and peak memory of the tap against its baselines.

Starts DynamoDB Local with its tables stored under .bench-cache/ (loaded once, reused by
later runs), then measures as child processes, interleaved, `--runs` times each:

- tap FULL_TABLE: our tap syncing the whole table to /dev/null;
- bare boto3 Scan: a loop that only fetches Scan pages (devtools/bare_loops.py);
- Stitch FULL_TABLE: Stitch's tap-dynamodb 1.4.0 from PyPI (in .bench-cache/stitch-venv),
  which only talks to http://localhost:8000, so it runs only when that port is free.

CPU is user+sys of the child and the processes it waited for, peak RSS the largest one's
ru_maxrss (read by the small launcher devtools/child_usage.py). The table shows medians;
the ratios compare CPU per item of medians from the same run.

    make bench                              # 100k items, 3 runs
    make bench BENCH_ARGS="--runs 5"
    make bench BENCH_ARGS="--million"       # also: peak RSS at 1M items (loads once, minutes)
    make bench BENCH_ARGS="--batch-only --items 1000000"   # BATCH files vs RECORD lines, and into target-postgres
    make bench BENCH_ARGS="--export-only --million"        # FULL_TABLE from an export vs the Scan, 100k and 1M

`--batch` (or `--batch-only`) adds the batch_config suite: the FULL_TABLE run as RECORD lines to
/dev/null against the same run into batch files (gzip and none), then each end to end into
MeltanoLabs target-postgres on a private PostgreSQL server (wall time, rows/s, the tap's CPU and
peak RSS).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from devtools import tap_runner
from devtools.dynamodb_local import LOCAL_CREDENTIALS, REPO_ROOT, DynamoDBLocal, _tcp_open, local_call
from tests.helpers import BATCH_SIZE, select_streams, wait_table_active

CACHE = REPO_ROOT / ".bench-cache"
STITCH_VENV = CACHE / "stitch-venv"
STITCH_REQUIREMENT = "tap-dynamodb==1.4.0"
STITCH_PORT = 8000  # Stitch's use_local_dynamo is hard-wired to http://localhost:8000
LOAD_THREADS = 8
DB_FILE = "shared-local-instance.db"  # DynamoDB Local's file with -sharedDb
SCRATCH_ROOT = Path("/dev/shm")
STREAM_CACHE_SECONDS = 20 * 3600
ITEMS_PER_TASK = 1000

TARGET_VS_BARE = 0.5
TARGET_VS_STITCH = 0.2
FLAT_MEMORY_TOLERANCE = 0.10


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------


def mixed_item(i: int) -> dict:
    """Item i of the benchmark table in wire form: every common DynamoDB type, deterministic."""
    return {
        "id": {"S": f"item-{i:08d}"},
        "name": {"S": f"customer {i * 7919 % 100003} of region {i % 17}"},
        "quantity": {"N": str(i % 1000)},
        "price": {"N": f"{i % 9973}.{i % 100:02d}"},
        "ratio": {"N": f"-0.{i * 31 % 1000003:07d}"},
        "tags": {"SS": [f"tag-{i % 5}", f"tag-{i % 7 + 5}", "bench"]},
        "scores": {"NS": [str(i % 11), f"{i % 13}.5", str(10**20 + i)]},
        "profile": {
            "M": {
                "city": {"S": ["Berlin", "Lagos", "Lima", "Osaka", "Zürich"][i % 5]},
                "zip": {"N": str(10000 + i % 90000)},
                "history": {
                    "L": [
                        {"S": "created"},
                        {"N": str(i)},
                        {"BOOL": i % 2 == 0},
                        {"M": {"at": {"S": f"2024-01-{i % 28 + 1:02d}"}}},
                    ]
                },
            }
        },
        "active": {"BOOL": i % 3 == 0},
        "deleted_at": {"NULL": True},
        "blob": {"B": base64.b64encode(i.to_bytes(8, "big") + b"\x00\xffbench-payload").decode("ascii")},
    }


def ddb_client(endpoint: str, service: str = "dynamodb"):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, endpoint_url=endpoint, config=Config(max_pool_connections=LOAD_THREADS * 2), **LOCAL_CREDENTIALS
    )


def _write_batch(endpoint: str, table: str, items: list[dict]) -> None:
    requests = {table: [{"PutRequest": {"Item": item}} for item in items]}
    for attempt in range(10):
        requests = local_call(endpoint, "BatchWriteItem", {"RequestItems": requests}).get("UnprocessedItems")
        if not requests:
            return
        time.sleep(min(0.05 * 2**attempt, 2.0))
    raise BenchError(f"BatchWriteItem kept returning unprocessed items for {table}")


def _load(endpoint: str, table: str, count: int) -> None:
    """Parallel BatchWriteItem calls in wire-form JSON (boto3 would cost ~1 ms of CPU per item)."""
    started = time.monotonic()

    def write(start: int) -> int:
        stop = min(count, start + ITEMS_PER_TASK)
        for first in range(start, stop, BATCH_SIZE):
            _write_batch(endpoint, table, [mixed_item(i) for i in range(first, min(stop, first + BATCH_SIZE))])
        return stop - start

    done = 0
    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        for written in pool.map(write, range(0, count, ITEMS_PER_TASK)):
            done += written
            if done % 50000 == 0 or done == count:
                print(f"  loaded {done}/{count} items ({time.monotonic() - started:.0f} s)", file=sys.stderr)


@dataclass(frozen=True)
class TableSpec:
    name: str
    items: int
    stream: bool = False  # with a NEW_AND_OLD_IMAGES stream: its records are the LOG_BASED benchmark's input
    # called with (endpoint, cache dir) after the table is created and before it is loaded
    prepare: Optional[Callable[[str, Path], None]] = None


def create_table(client, spec: TableSpec) -> None:
    params = {
        "TableName": spec.name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    }
    if spec.stream:
        params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    client.create_table(**params)
    wait_table_active(client, spec.name)


def _cached(cache_dir: Path, spec: TableSpec) -> bool:
    marker = cache_dir / f"{spec.name}.loaded"
    if not marker.exists():
        return False
    # Stream records live 24 hours (DynamoDB Local trims them too): reload a stream table's items before that.
    return not spec.stream or time.time() - marker.stat().st_mtime < STREAM_CACHE_SECONDS


def _load_missing(server: DynamoDBLocal, cache_dir: Path, specs: list[TableSpec]) -> list[TableSpec]:
    client = ddb_client(server.endpoint_url)
    existing = client.list_tables()["TableNames"]
    loaded = []
    for spec in specs:
        if spec.name in existing and _cached(cache_dir, spec):
            continue
        if spec.name in existing:
            client.delete_table(TableName=spec.name)
        print(f"building {spec.name}: {spec.items} items (cached in {cache_dir} for later runs)", file=sys.stderr)
        create_table(client, spec)
        if spec.prepare:
            spec.prepare(server.endpoint_url, cache_dir)
        _load(server.endpoint_url, spec.name, spec.items)
        loaded.append(spec)
    return loaded


@dataclass(frozen=True)
class BenchDatabase:
    endpoint_url: str  # of the DynamoDB Local serving it
    cache_dir: Path  # where its tables (and files such as saved states) are cached


@contextmanager
def bench_database(name: str, specs: list[TableSpec], port: Optional[int]) -> Iterator[BenchDatabase]:
    """DynamoDB Local on a scratch copy of the cached database .bench-cache/<name>.

    The scratch copy lives in /dev/shm when there is one: DynamoDB Local syncs every write to
    disk, which makes loading a table on disk ~4× slower. Tables missing from the cache are
    loaded into the scratch copy, which is then saved to the cache; benchmark runs never
    change the cache.
    """
    cache_dir = CACHE / name
    cache_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="tap-bench-db-", dir=SCRATCH_ROOT if SCRATCH_ROOT.is_dir() else None))
    server = DynamoDBLocal(db_path=scratch)
    try:
        if (cache_dir / DB_FILE).exists():
            shutil.copyfile(cache_dir / DB_FILE, scratch / DB_FILE)
        server.start(port=port)
        loaded = _load_missing(server, cache_dir, specs)
        if loaded:
            server.stop()
            shutil.copyfile(scratch / DB_FILE, cache_dir / DB_FILE)
            for spec in loaded:
                (cache_dir / f"{spec.name}.loaded").write_text(f"{spec.items}\n")
            server.start(port=port)
        yield BenchDatabase(server.endpoint_url, cache_dir)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


# --------------------------------------------------------------------------
# Measuring a child process
# --------------------------------------------------------------------------


@dataclass
class Sample:
    items: int
    wall: float
    cpu: float
    rss_mb: float

    @property
    def us_per_item(self) -> float:
        return self.cpu / self.items * 1e6 if self.items else float("nan")


class BenchError(RuntimeError):
    pass


def measure(cmd: list[str], count_pattern: str, env: dict[str, str]) -> Sample:
    """Run cmd with stdout to /dev/null; the item count is read from its stderr.

    CPU and peak RSS come from devtools/child_usage.py, a small launcher (see its docstring for
    why the command is not started straight from this large process)."""
    with tempfile.TemporaryFile() as err, open(os.devnull, "wb") as devnull, tempfile.TemporaryDirectory() as tmp:
        usage_file = Path(tmp) / "usage.json"
        launcher = [sys.executable, "-m", "devtools.child_usage", str(usage_file), "--", *cmd]
        started = time.perf_counter()
        proc = subprocess.run(
            launcher, cwd=str(REPO_ROOT), env=env, stdin=subprocess.DEVNULL, stdout=devnull, stderr=err
        )
        wall = time.perf_counter() - started
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        usage = json.loads(usage_file.read_text()) if usage_file.exists() else None
    if proc.returncode != 0 or usage is None:
        raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-3000:]}")
    found = re.findall(count_pattern, stderr)
    if not found:
        raise BenchError(f"{' '.join(cmd)}: no item count in its stderr:\n{stderr[-3000:]}")
    return Sample(items=sum(int(n) for n in found), wall=wall, cpu=usage["cpu"], rss_mb=usage["rss_kb"] / 1024)


@dataclass
class Contender:
    name: str
    command: list[str]
    count_pattern: str
    env: dict[str, str]


def median_sample(samples: list[Sample]) -> Sample:
    return Sample(
        items=int(statistics.median(s.items for s in samples)),
        wall=statistics.median(s.wall for s in samples),
        cpu=statistics.median(s.cpu for s in samples),
        rss_mb=statistics.median(s.rss_mb for s in samples),
    )


def run_interleaved(contenders: list[Contender], runs: int) -> dict[str, Sample]:
    """Medians per contender; runs are interleaved so that drift hits everyone alike."""
    samples: dict[str, list[Sample]] = {c.name: [] for c in contenders}
    for run in range(1, runs + 1):
        for c in contenders:
            sample = measure(c.command, c.count_pattern, c.env)
            samples[c.name].append(sample)
            print(
                f"  run {run}/{runs} {c.name}: {sample.items} items, {sample.wall:.2f} s wall, "
                f"{sample.cpu:.2f} s CPU, {sample.us_per_item:.1f} us/item, {sample.rss_mb:.0f} MB",
                file=sys.stderr,
            )
    return {name: median_sample(s) for name, s in samples.items()}


# --------------------------------------------------------------------------
# The contenders
# --------------------------------------------------------------------------


def ensure_stitch() -> Optional[Path]:
    """Stitch's tap in its own venv (installed from PyPI once); None if that fails."""
    exe = STITCH_VENV / "bin" / "tap-dynamodb"
    if exe.exists():
        return exe
    print(f"installing {STITCH_REQUIREMENT} into {STITCH_VENV}", file=sys.stderr)
    try:
        venv.create(STITCH_VENV, with_pip=True, clear=True)
        subprocess.run(
            [str(STITCH_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", STITCH_REQUIREMENT],
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"cannot install {STITCH_REQUIREMENT}: {exc}", file=sys.stderr)
        shutil.rmtree(STITCH_VENV, ignore_errors=True)
        return None
    return exe


def tap_files(workdir: Path, endpoint: str, table: str, method: str, **settings) -> tuple:
    """Config and catalog files for our tap with `table` selected (catalog from --discover)."""
    config = dict(LOCAL_CREDENTIALS, endpoint_url=endpoint, tables=[table], **settings)
    discovered = tap_runner.run_tap("--discover", config=config, workdir=workdir)
    if discovered.returncode != 0:
        raise BenchError(discovered.failure_message())
    catalog = select_streams(discovered.catalog, [table], method)
    variant = "-".join(f"{key}-{value}" for key, value in sorted(settings.items())) or "default"
    return (
        tap_runner.write_json(workdir / f"{table}-{variant}-config.json", config),
        tap_runner.write_json(workdir / f"{table}-{method}-{variant}-catalog.json", catalog),
    )


def tap_contender(
    name: str, config: Path, catalog: Path, state: Optional[Path] = None, exe: Optional[Path] = None
) -> Contender:
    """Our tap; `exe` is another checkout's console script (the A/B of --ab)."""
    cmd = [*([str(exe)] if exe else tap_runner.tap_command()), "--config", str(config), "--catalog", str(catalog)]
    if state:
        cmd += ["--state", str(state)]
    return Contender(name, cmd, r"Finished \w+ sync of \S+: (\d+) records", tap_runner.local_env())


def bare_contender(name: str, mode: str, endpoint: str, table: str) -> Contender:
    return Contender(
        name,
        [sys.executable, "-m", "devtools.bare_loops", mode, endpoint, table],
        r"items (\d+)",
        tap_runner.local_env(),
    )


def stitch_contender(exe: Path, workdir: Path, catalog: Path) -> Contender:
    config = tap_runner.write_json(
        workdir / "stitch-config.json",
        {
            "account_id": "000000000000",
            "external_id": "unused",
            "role_name": "unused",
            "region_name": LOCAL_CREDENTIALS["region_name"],
            "use_local_dynamo": True,
        },
    )
    return Contender(
        "Stitch tap-dynamodb 1.4.0 FULL_TABLE",
        [str(exe), "--config", str(config), "--catalog", str(catalog)],
        r"Completed sync \((\d+) rows\)",
        tap_runner.local_env(),
    )


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def markdown_table(results: dict[str, Sample]) -> str:
    lines = ["| run | items | wall s | CPU s | CPU µs/item | peak RSS MB |", "|---|---:|---:|---:|---:|---:|"]
    for name, s in results.items():
        lines.append(f"| {name} | {s.items} | {s.wall:.2f} | {s.cpu:.2f} | {s.us_per_item:.1f} | {s.rss_mb:.0f} |")
    return "\n".join(lines)


def ratio_line(label: str, ours: Sample, theirs: Optional[Sample], target: float) -> str:
    if theirs is None:
        return f"- {label}: not measured"
    ratio = ours.us_per_item / theirs.us_per_item
    verdict = "meets" if ratio <= target else "MISSES"
    return f"- {label}: **{ratio:.2f}×** CPU per item ({verdict} the target ≤ {target}×)"


def machine_line() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Python {sys.version.split()[0]}"


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def _ab_contenders(tap: Contender, ab: Optional[Path]) -> list[Contender]:
    """The same run by the other checkout's tap (--ab), named "<name> [A/B: other]"."""
    if ab is None:
        return []
    exe = ab / ".venv" / "bin" / "tap-dynamodb"
    if not exe.exists():
        raise BenchError(f"--ab {ab}: {exe} does not exist; run `make venv` there first")
    return [
        Contender(
            f"{tap.name} [A/B: {ab.name}]",
            [str(exe), *tap.command[len(tap_runner.tap_command()) :]],
            tap.count_pattern,
            tap.env,
        )
    ]


def _normalized_output(cmd: list[str], env: dict[str, str]) -> list:
    """The messages a run writes, parsed, without what differs from run to run (times, versions)."""
    from devtools.ab_output import normalized

    run = subprocess.run(cmd, cwd=str(REPO_ROOT), env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True)
    return normalized(run.stdout)


def ab_output_line(tap: Contender, other: list[Contender]) -> list[str]:
    """Whether both checkouts write the same messages (after JSON parsing, times and versions aside)."""
    if not other:
        return []
    ours = _normalized_output(tap.command, tap.env)
    theirs = _normalized_output(other[0].command, other[0].env)
    same = ours == theirs
    return [
        (
            f"- A/B output: {len(ours)} vs {len(theirs)} messages, "
            f"{'identical' if same else 'DIFFERENT'} after JSON parsing (time_extracted, versions and "
            "success_timestamp aside)"
        )
    ]


def full_table_suite(
    server: BenchDatabase, workdir: Path, table: TableSpec, runs: int, stitch: Optional[Path], ab: Optional[Path] = None
) -> tuple:
    config, catalog = tap_files(workdir, server.endpoint_url, table.name, "FULL_TABLE")
    tap = tap_contender("tap-dynamodb FULL_TABLE", config, catalog)
    bare = bare_contender("bare boto3 Scan loop", "scan", server.endpoint_url, table.name)
    theirs = stitch_contender(stitch, workdir, catalog) if stitch else None
    other = _ab_contenders(tap, ab)
    results = run_interleaved([tap, *other, bare] + ([theirs] if theirs else []), runs)
    lines = [
        f"### FULL_TABLE, {table.items} items (medians of {runs} runs)",
        "",
        markdown_table(results),
        "",
        ratio_line("tap / bare boto3 Scan", results[tap.name], results[bare.name], TARGET_VS_BARE),
        ratio_line("tap / Stitch", results[tap.name], results[theirs.name] if theirs else None, TARGET_VS_STITCH),
    ]
    if other:
        lines.append(ratio_line(f"tap / {other[0].name}", results[tap.name], results[other[0].name], 1.0))
        lines += ab_output_line(tap, other)
    return lines, results[tap.name]


def stream_table(workdir: Path) -> TableSpec:
    """The LOG_BASED table: its first tap run (empty table) is made before the items are written,
    so that the state it leaves makes every later run read all the items as stream changes."""
    name = "bench_stream_100000"

    def first_run(endpoint: str, cache_dir: Path) -> None:
        config, catalog = tap_files(workdir, endpoint, name, "LOG_BASED")
        result = tap_runner.run_tap(config=config, catalog=catalog, workdir=workdir)
        if result.returncode != 0 or result.last_state is None:
            raise BenchError(result.failure_message())
        tap_runner.write_json(cache_dir / f"{name}.state.json", result.last_state)

    return TableSpec(name, 100_000, stream=True, prepare=first_run)


def log_based_suite(
    server: BenchDatabase, workdir: Path, table: TableSpec, runs: int, stitch: Optional[Path], ab: Optional[Path] = None
) -> list:
    config, catalog = tap_files(workdir, server.endpoint_url, table.name, "LOG_BASED")
    state = server.cache_dir / f"{table.name}.state.json"
    tap = tap_contender("tap-dynamodb LOG_BASED (second run)", config, catalog, state)
    bare = bare_contender("bare boto3 GetRecords loop", "stream", server.endpoint_url, table.name)
    theirs = None
    if stitch:
        harness = REPO_ROOT / "devtools" / "stitch_stream_harness.py"
        theirs = Contender(
            "Stitch 1.4.0 sync_shard (harness)",
            [str(stitch.parent / "python"), str(harness), table.name],
            r"Stitch rows (\d+)",
            tap_runner.local_env(),
        )
    other = _ab_contenders(tap, ab)
    results = run_interleaved([tap, *other, bare] + ([theirs] if theirs else []), runs)
    ab_lines = (
        [
            ratio_line(f"tap / {other[0].name}", results[tap.name], results[other[0].name], 1.0),
            *ab_output_line(tap, other),
        ]
        if other
        else []
    )
    return [
        f"### LOG_BASED, {table.items} stream records (medians of {runs} runs)",
        "",
        markdown_table(results),
        "",
        ratio_line("tap / bare boto3 GetRecords", results[tap.name], results[bare.name], TARGET_VS_BARE),
        ratio_line(
            "tap / Stitch's LOG_BASED record path",
            results[tap.name],
            results[theirs.name] if theirs else None,
            TARGET_VS_STITCH,
        ),
        (
            "- Stitch 1.4.0 reads closed shards only and DynamoDB Local never closes its shard, so Stitch's own "
            "LOG_BASED run reads 0 records there; devtools/stitch_stream_harness.py runs Stitch's `sync_shard` "
            "on the open shard instead"
        ),
        *ab_lines,
    ]


# --------------------------------------------------------------------------
# BATCH messages (batch_config) against RECORD lines
# --------------------------------------------------------------------------


@dataclass
class PipelineSample:
    items: int
    wall: float  # until the target exited
    tap: Sample
    target_cpu: float
    target_rss_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.items / self.wall if self.wall else float("nan")


def _error_lines(text: str) -> str:
    """The target's error, without the bound parameters SQLAlchemy appends (every row of the batch)."""
    return "\n".join(line[:500] for line in text.splitlines() if "Error" in line or "error" in line)[-3000:]


def measure_pipeline(tap_cmd: list[str], target_cmd: list[str], env: dict[str, str]) -> PipelineSample:
    """`tap | target`: end-to-end wall time; the tap's CPU and peak RSS, the target's CPU (os.wait4 each)."""
    with tempfile.TemporaryFile() as tap_err, tempfile.TemporaryFile() as target_err:
        started = time.perf_counter()
        tap = subprocess.Popen(tap_cmd, cwd=str(REPO_ROOT), env=env, stdout=subprocess.PIPE, stderr=tap_err)
        target = subprocess.Popen(
            target_cmd, stdin=tap.stdout, stdout=subprocess.DEVNULL, stderr=target_err, env=env, cwd=str(REPO_ROOT)
        )
        assert tap.stdout is not None
        tap.stdout.close()
        _, tap_status, tap_usage = os.wait4(tap.pid, 0)
        tap_wall = time.perf_counter() - started
        _, target_status, target_usage = os.wait4(target.pid, 0)
        wall = time.perf_counter() - started
        tap.returncode, target.returncode = (
            os.waitstatus_to_exitcode(tap_status),
            os.waitstatus_to_exitcode(target_status),
        )
        tap_err.seek(0)
        target_err.seek(0)
        tap_text = tap_err.read().decode(errors="replace")
        if tap.returncode or target.returncode:
            raise BenchError(
                f"pipeline failed (tap {tap.returncode}, target {target.returncode}):\n{tap_text[-2000:]}\n"
                f"{_error_lines(target_err.read().decode(errors='replace'))}"
            )
    items = sum(int(n) for n in re.findall(r"Finished \w+ sync of \S+: (\d+) records", tap_text))
    tap_sample = Sample(items, tap_wall, tap_usage.ru_utime + tap_usage.ru_stime, tap_usage.ru_maxrss / 1024)
    return PipelineSample(
        items, wall, tap_sample, target_usage.ru_utime + target_usage.ru_stime, target_usage.ru_maxrss / 1024
    )


def _batch_setting(root: Path, compression: str, batch_size: Optional[int]) -> dict:
    setting: dict = {"encoding": {"format": "jsonl", "compression": compression}, "storage": {"root": f"file://{root}"}}
    if batch_size:
        setting["batch_size"] = batch_size
    return setting


# name → (compression, batch_size); None: RECORD lines. The default batch_size (10 000), and ten
# times it: bigger files cost the target memory (it reads a whole file before loading it) and stop
# it loading one file while the tap writes the next.
BATCH_VARIANTS: dict[str, Optional[tuple[str, Optional[int]]]] = {
    "RECORD lines": None,
    "BATCH gzip": ("gzip", None),
    "BATCH none": ("none", None),
    "BATCH gzip, 100000 per file": ("gzip", 100_000),
}


def _dir_megabytes(root: Path) -> float:
    return sum(p.stat().st_size for p in root.iterdir()) / 1e6 if root.is_dir() else 0.0


def batch_suite(server: BenchDatabase, workdir: Path, table: TableSpec, runs: int) -> list:
    """RECORD lines vs batch files (BATCH_VARIANTS): the tap alone, then end to end into target-postgres."""
    from devtools.postgres import PostgresServer
    from devtools.tool_venvs import ensure_tool

    variants = {
        name: (workdir / f"batches-{index}" if spec else None)
        for index, (name, spec) in enumerate(BATCH_VARIANTS.items())
    }
    files = {}
    for name, root in variants.items():
        # number_format string throughout: target-postgres 0.8.1 cannot load the table's number sets as
        # numbers on either path (an int and a Decimal in one array: psycopg's "integer expected, got Decimal").
        settings: dict = {"number_format": "string"}
        spec = BATCH_VARIANTS[name]
        if root and spec:
            settings["batch_config"] = _batch_setting(root, *spec)
        config, catalog = tap_files(workdir, server.endpoint_url, table.name, "FULL_TABLE", **settings)
        files[name] = (config, catalog)
    tap_only: dict[str, list[Sample]] = {name: [] for name in variants}
    sizes: dict[str, float] = {}
    for run in range(1, runs + 1):
        for name, root in variants.items():
            contender = tap_contender(name, *files[name])
            sample = measure(contender.command, contender.count_pattern, contender.env)
            tap_only[name].append(sample)
            if root is not None:
                sizes[name] = _dir_megabytes(root)
                shutil.rmtree(root, ignore_errors=True)
            print(
                f"  run {run}/{runs} {name} → files/devnull: {sample.wall:.2f} s wall, {sample.us_per_item:.1f} us/item",
                file=sys.stderr,
            )
    medians = {
        f"tap → {'/dev/null' if root is None else 'files'}, {name}": median_sample(tap_only[name])
        for name, root in variants.items()
    }

    target = ensure_tool("target-postgres")
    e2e: dict[str, list[PipelineSample]] = {name: [] for name in variants}
    with PostgresServer() as postgres:
        for run in range(1, runs + 1):
            for index, (name, root) in enumerate(variants.items()):
                schema = f"bench_{run}_{index}"
                target_config = tap_runner.write_json(workdir / f"target-{schema}.json", postgres.target_config(schema))
                config, catalog = files[name]
                cmd = [*tap_runner.tap_command(), "--config", str(config), "--catalog", str(catalog)]
                sample = measure_pipeline(cmd, [str(target), "--config", str(target_config)], tap_runner.local_env())
                loaded = postgres.query_json(f'select count(*) from {schema}."{table.name}"')
                if loaded != table.items:
                    raise BenchError(f"{name}: target-postgres loaded {loaded} rows, expected {table.items}")
                e2e[name].append(sample)
                if root is not None:
                    shutil.rmtree(root, ignore_errors=True)
                print(
                    f"  run {run}/{runs} {name} → target-postgres: {sample.wall:.2f} s, {sample.rows_per_second:.0f} rows/s",
                    file=sys.stderr,
                )

    def median_pipeline(samples: list[PipelineSample]) -> PipelineSample:
        return PipelineSample(
            samples[0].items,
            statistics.median(s.wall for s in samples),
            median_sample([s.tap for s in samples]),
            statistics.median(s.target_cpu for s in samples),
            statistics.median(s.target_rss_mb for s in samples),
        )

    pipelines = {name: median_pipeline(samples) for name, samples in e2e.items()}
    record_tap = medians["tap → /dev/null, RECORD lines"]
    record_e2e = pipelines["RECORD lines"]
    lines = [
        f"### BATCH files vs RECORD lines, FULL_TABLE, {table.items} items (medians of {runs} runs)",
        "",
        markdown_table(medians),
        "",
        *[
            f"- {name}: **{medians[f'tap → files, {name}'].us_per_item / record_tap.us_per_item:.2f}×** the tap CPU "
            f"per item of RECORD lines; {sizes.get(name, 0):.1f} MB of files"
            for name in variants
            if variants[name] is not None
        ],
        "",
        (
            "| end to end into target-postgres | items | wall s | rows/s | tap CPU s | tap CPU µs/item "
            "| tap peak RSS MB | target CPU s | target peak RSS MB |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {name} | {p.items} | {p.wall:.2f} | {p.rows_per_second:.0f} | {p.tap.cpu:.2f} | {p.tap.us_per_item:.1f} "
            f"| {p.tap.rss_mb:.0f} | {p.target_cpu:.2f} | {p.target_rss_mb:.0f} |"
            for name, p in pipelines.items()
        ],
        "",
        *[
            f"- {name} end to end: **{record_e2e.wall / p.wall:.2f}×** the rows/s of RECORD lines"
            for name, p in pipelines.items()
            if name != "RECORD lines"
        ],
    ]
    return lines


def million_suite(workdir: Path, runs: int, small: Sample) -> list:
    """Peak RSS at 1M items: with one segment, as the 100k table gets, and with the automatic count.

    More segments mean more pages in flight (one fetched or waiting per segment, plus the one
    being written), so memory follows the segment count (at most 16), not the table size; the one-segment run
    isolates table size."""
    table = TableSpec("bench_mixed_1000000", 1_000_000)
    with bench_database("ddb-1000000", [table], None) as server:
        one = tap_files(workdir, server.endpoint_url, table.name, "FULL_TABLE", scan_segments=1)
        auto = tap_files(workdir, server.endpoint_url, table.name, "FULL_TABLE")
        results = run_interleaved(
            [
                tap_contender("tap-dynamodb FULL_TABLE, 1M items, 1 segment", *one),
                tap_contender("tap-dynamodb FULL_TABLE, 1M items, automatic segments", *auto),
            ],
            runs,
        )
    big = next(iter(results.values()))
    growth = big.rss_mb / small.rss_mb - 1
    verdict = "flat" if growth <= FLAT_MEMORY_TOLERANCE else "NOT FLAT"
    return [
        f"### Memory in table size (medians of {runs} runs)",
        "",
        markdown_table(results),
        "",
        (
            f"- peak RSS at {big.items} items vs {small.items}, one segment each: {big.rss_mb:.0f} MB vs "
            f"{small.rss_mb:.0f} MB ({growth:+.0%}; {verdict}, target within {FLAT_MEMORY_TOLERANCE:.0%})"
        ),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per contender; medians are reported (default 3)")
    parser.add_argument("--items", type=int, default=100_000, help="items in the FULL_TABLE table (default 100000)")
    parser.add_argument("--million", action="store_true", help="also measure the tap's peak RSS on 1M items")
    parser.add_argument("--no-stitch", action="store_true", help="skip Stitch's tap")
    parser.add_argument("--no-log-based", action="store_true", help="skip the LOG_BASED benchmark")
    parser.add_argument(
        "--batch", action="store_true", help="also: BATCH files vs RECORD lines, and into target-postgres"
    )
    parser.add_argument("--batch-only", action="store_true", help="only the BATCH suite (no Stitch, no LOG_BASED)")
    parser.add_argument(
        "--export",
        action="store_true",
        help="also: FULL_TABLE from a DynamoDB export (1 and 2 workers) vs the Scan (devtools/bench_export.py)",
    )
    parser.add_argument("--export-only", action="store_true", help="only the export suite (with --million: 1M too)")
    parser.add_argument(
        "--ab",
        type=Path,
        help="another checkout (with its .venv) whose tap runs interleaved with "
        "ours, for an A/B of CPU per item and of the output",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.batch_only:
        args.batch, args.no_stitch, args.no_log_based = True, True, True
    if args.export_only:
        from devtools import bench_export

        with tempfile.TemporaryDirectory(prefix="tap-bench-") as tmp:
            print("\n".join(bench_export.run(Path(tmp), args.runs, args.million)))
        return 0

    CACHE.mkdir(exist_ok=True)
    notes = []
    stitch = None
    port = None
    if not args.no_stitch:
        if _tcp_open(STITCH_PORT):
            notes.append(f"Stitch skipped: port {STITCH_PORT} (where its use_local_dynamo points) is in use.")
        else:
            stitch = ensure_stitch()
            port = STITCH_PORT if stitch else None
            if stitch is None:
                notes.append(f"Stitch skipped: {STITCH_REQUIREMENT} could not be installed.")

    report = [f"Machine: {machine_line()}; DynamoDB Local on the same machine.", ""]
    mixed = TableSpec(f"bench_mixed_{args.items}", args.items)
    with tempfile.TemporaryDirectory(prefix="tap-bench-") as tmp:
        workdir = Path(tmp)
        changes = stream_table(workdir)
        tables = [mixed] + ([changes] if not args.no_log_based else [])
        with bench_database(f"ddb-{args.items}", tables, port) as server:
            if not args.batch_only:
                lines, tap_sample = full_table_suite(server, workdir, mixed, args.runs, stitch, args.ab)
                report += lines
            if not args.no_log_based:
                report += ["", *log_based_suite(server, workdir, changes, args.runs, stitch, args.ab)]
            if args.batch:
                report += ["", *batch_suite(server, workdir, mixed, args.runs)]
        if args.million and not args.batch_only:
            report += ["", *million_suite(workdir, args.runs, tap_sample)]
        if args.export:
            from devtools import bench_export

            report += ["", *bench_export.run(workdir, args.runs, args.million)]
    report += [""] + [f"Note: {n}" for n in notes]
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
