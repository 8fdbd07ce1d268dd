from setuptools import find_packages, setup

setup(
    name="tap-dynamodb",
    version="0.1.0",
    description="Singer tap for Amazon DynamoDB: parallel FULL_TABLE scans and LOG_BASED DynamoDB Streams",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["tap_dynamodb", "tap_dynamodb.*"]),
    install_requires=[
        "boto3>=1.28,<2",
        "singer-python>=5.13,<7",
        "backoff>=2.2,<3",
        "python-dateutil>=2.8,<3",
        "orjson>=3.9,<4",
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-timeout>=2", "pytest-xdist>=3.5", "PyYAML>=6"],
    },
    entry_points={"console_scripts": ["tap-dynamodb=tap_dynamodb.cli:main"]},
)
