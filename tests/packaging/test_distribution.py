"""`python -m build` makes a wheel and an sdist named for PyPI (`singer-tap-dynamodb`) that each
install into a clean venv and run the `tap-dynamodb` command.

The build runs on a copy of the checkout (what git would commit: tracked and untracked files,
not ignored ones), so it neither sees nor leaves build/ and *.egg-info in the working tree.
The isolated build and the installs fetch setuptools and the tap's dependencies from the package
index (pip's cache makes that quick after the first run).
"""

from __future__ import annotations

import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from devtools import python_matrix
from tap_dynamodb import __version__

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTION = "singer-tap-dynamodb"
PROJECT = re.escape(DISTRIBUTION).replace("\\-", "[-_]")  # sdists were named with - before setuptools 69.3
IGNORED_DIRS = {".git", ".venv", ".dynamodb-local", ".test-cache", ".bench-cache", ".meltano", "build", "dist"}


def run(command: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {done.returncode}\n--- stdout ---\n{done.stdout[-4000:]}"
            f"\n--- stderr ---\n{done.stderr[-4000:]}",
            pytrace=False,
        )
    return done


def checkout_files() -> list[str]:
    """The files git would commit; without git, everything outside the ignored dirs and caches."""
    if shutil.which("git") and (REPO / ".git").exists():
        listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], REPO).stdout
        return [name for name in listed.split("\0") if name and (REPO / name).is_file()]
    return [
        str(path.relative_to(REPO))
        for path in REPO.rglob("*")
        if path.is_file()
        and not IGNORED_DIRS.intersection(path.relative_to(REPO).parts)
        and not any(part.endswith((".egg-info", "__pycache__", "_cache")) for part in path.parts)
    ]


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    source = tmp_path_factory.mktemp("checkout")
    for name in checkout_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], source)
    built = sorted(path.name for path in out.iterdir())
    wheels = [n for n in built if re.fullmatch(rf"singer_tap_dynamodb-{re.escape(__version__)}-py3-none-any\.whl", n)]
    sdists = [n for n in built if re.fullmatch(rf"{PROJECT}-{re.escape(__version__)}\.tar\.gz", n)]
    assert len(wheels) == 1 and len(sdists) == 1 and len(built) == 2, f"python -m build made {built}"
    return {"wheel": out / wheels[0], "sdist": out / sdists[0]}


def fresh_venv(path: Path) -> Path:
    base = getattr(sys, "_base_executable", None) or sys.executable
    run([base, "-m", "venv", str(path)], path.parent)
    return path / "bin"


def test_the_sdist_holds_the_license_readme_and_package_but_no_dev_files(dists):
    with tarfile.open(dists["sdist"]) as sdist:
        names = sdist.getnames()
    top = names[0].split("/")[0]
    members = {name[len(top) + 1 :] for name in names if name.startswith(top + "/")}
    expected = {
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "setup.py",
        "PKG-INFO",
        "tap_dynamodb/__init__.py",
        "tap_dynamodb/cli.py",
    }
    assert expected <= members
    assert not {m.split("/")[0] for m in members} & {"tests", "devtools", ".venv", ".git", ".dynamodb-local"}


def test_the_wheel_metadata_names_the_distribution_license_and_pythons(dists):
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = wheel.namelist()
        info = f"singer_tap_dynamodb-{__version__}.dist-info"
        metadata = email.parser.Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert {n.split("/")[0] for n in names} == {"tap_dynamodb", info}
    assert any(re.fullmatch(rf"{re.escape(info)}/(licenses/)?LICENSE", n) for n in names)
    assert (metadata["Name"], metadata["Version"]) == (DISTRIBUTION, __version__)
    assert "Apache-2.0" in (metadata.get("License-Expression") or metadata.get("License") or "")
    assert metadata["Requires-Python"] == f">={python_matrix.SUPPORTED[0]}"
    assert f"Programming Language :: Python :: {python_matrix.SUPPORTED[-1]}" in metadata.get_all("Classifier")
    assert any(url.startswith("Source, https://") for url in metadata.get_all("Project-URL"))
    assert re.search(r"^tap-dynamodb = tap_dynamodb\.cli:main$", entry_points, re.M)


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_each_distribution_installs_into_a_clean_venv_and_runs_tap_dynamodb_about(dists, tmp_path, kind):
    bin_dir = fresh_venv(tmp_path / "venv")
    run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(dists[kind])], tmp_path)
    run([str(bin_dir / "python"), "-m", "pip", "check"], tmp_path)

    # run from outside the checkout: the installed package, not this tree, answers
    about = json.loads(run([str(bin_dir / "tap-dynamodb"), "--about", "--format", "json"], tmp_path).stdout)

    assert (about["name"], about["version"]) == ("tap-dynamodb", __version__)
    where = run([str(bin_dir / "python"), "-c", "import tap_dynamodb; print(tap_dynamodb.__file__)"], tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv")
    shown = run([str(bin_dir / "python"), "-m", "pip", "show", DISTRIBUTION], tmp_path).stdout
    assert re.search(rf"^Version: {re.escape(__version__)}$", shown, re.M)
