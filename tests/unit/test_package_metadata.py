"""The package metadata in setup.py: the publishable distribution name, the license, the Pythons
the test matrix runs (`make test-matrix`), and the files that go with them (LICENSE, CHANGELOG.md).

setup.py is run with setuptools stubbed out: no build, no network.
The built wheel and sdist are checked by tests/packaging/test_distribution.py.
"""

from __future__ import annotations

import re
import runpy
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from devtools import python_matrix
from tap_dynamodb import __version__

REPO = Path(__file__).resolve().parents[2]
# PyPI's `tap-dynamodb` is Stitch's tap; ours is published under this name (checked free on PyPI).
DISTRIBUTION = "singer-tap-dynamodb"


@pytest.fixture
def keywords(monkeypatch) -> dict[str, Any]:
    """The keyword arguments setup.py passes to setup(), with setuptools stubbed out (Python 3.12+
    venvs have no setuptools: pip builds in an isolated environment)."""
    calls: list[dict[str, Any]] = []
    stub = types.ModuleType("setuptools")
    vars(stub).update(setup=lambda **kw: calls.append(kw), find_packages=lambda **kw: ["tap_dynamodb"])
    monkeypatch.setitem(sys.modules, "setuptools", stub)
    runpy.run_path(str(REPO / "setup.py"), run_name="__main__")
    assert len(calls) == 1, "setup.py must call setup() once"
    return calls[0]


def test_the_distribution_has_a_publishable_name_and_keeps_the_tap_dynamodb_command(keywords):
    assert keywords["name"] == DISTRIBUTION
    assert keywords["entry_points"] == {"console_scripts": ["tap-dynamodb=tap_dynamodb.cli:main"]}


def test_the_version_comes_from_the_package_and_has_a_changelog_entry(keywords):
    assert keywords["version"] == __version__  # read from tap_dynamodb/__init__.py, its one home
    assert f'"{__version__}"' not in (REPO / "setup.py").read_text(encoding="utf-8")
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(__version__)}\]", changelog, re.M), f"CHANGELOG.md has no {__version__}"
    assert DISTRIBUTION in changelog


def test_apache_2_license_file_and_metadata(keywords):
    license_text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text
    assert keywords["license_expression"] == "Apache-2.0"  # SPDX, core metadata 2.4
    assert keywords["license_files"] == ["LICENSE"]
    assert "license" not in keywords  # setuptools refuses both
    # License classifiers are deprecated in favour of the expression (setuptools warns about them)
    assert not [c for c in keywords["classifiers"] if c.startswith("License ::")]


def test_python_requires_and_classifiers_are_the_pythons_the_matrix_tests(keywords):
    supported = python_matrix.SUPPORTED
    assert supported == tuple(sorted(supported, key=python_matrix.version_key))
    assert keywords["python_requires"] == f">={supported[0]}"
    classified = [
        c.rsplit(" :: ", 1)[1]
        for c in keywords["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert classified == list(supported)
    assert "Programming Language :: Python :: 3 :: Only" in keywords["classifiers"]
    assert "Programming Language :: Python :: Implementation :: CPython" in keywords["classifiers"]


def test_classifiers_are_well_formed_and_project_urls_are_set(keywords):
    for classifier in keywords["classifiers"]:
        assert re.fullmatch(r"[A-Z][\w .+/()-]*( :: [\w .+/()-]+)+", classifier), classifier
    assert len(set(keywords["classifiers"])) == len(keywords["classifiers"])
    urls = keywords["project_urls"]
    assert {"Homepage", "Source", "Issues", "Changelog"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    assert keywords["url"] == urls["Homepage"]


def test_the_readme_says_how_to_install_and_which_pythons():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    install = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert f"pip install {DISTRIBUTION}" in install
    supported = python_matrix.SUPPORTED
    assert f"CPython {supported[0]} to {supported[-1]}" in install


def test_the_matrix_end_to_end_test_exists():
    path, _, name = python_matrix.E2E_TEST.partition("::")
    assert re.search(rf"^def {re.escape(name)}\(", (REPO / path).read_text(encoding="utf-8"), re.M)
