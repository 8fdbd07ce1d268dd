"""Logging to stderr, with every configured secret masked in every line (botocore's included)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

MASK = "********"

# Credentials the tap never had in its config (those of an assumed role) appear in botocore's
# debug log of the STS answer and of signed requests before the tap can learn them: mask them
# by their place in the text.
CREDENTIAL_FIELDS = (
    "SecretAccessKey|SessionToken|AccessKeyId|X-Amz-Security-Token|aws_secret_access_key|"
    "aws_session_token|aws_access_key_id"
)
CREDENTIAL_PATTERNS = (
    (re.compile(rf"<({CREDENTIAL_FIELDS})>[^<]*</"), rf"<\1>{MASK}</"),
    (re.compile(rf"""(["']?(?:{CREDENTIAL_FIELDS})["']?\s*[:=]\s*b?["']?)[^"',}}\s]+""", re.IGNORECASE), rf"\1{MASK}"),
    (re.compile(r"(Credential=)[^/\s,]+"), rf"\1{MASK}"),
)


class SecretMask(logging.Filter):
    """Replaces each secret value by a mask in the rendered message of every record."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if secret and len(secret) >= 4 and secret not in self.secrets:
                self.secrets.append(secret)
        self.secrets.sort(key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern, replacement in CREDENTIAL_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets or record.levelno <= logging.DEBUG:
            message = record.getMessage()
            masked = self.mask(message)
            if record.exc_info:
                masked += "\n" + self.mask(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
                record.exc_text = None
            record.msg, record.args = masked, None
        return True


MASKER = SecretMask()


def setup_logging(level: str = "INFO") -> None:
    """Send every log line to stderr as `LEVEL message`, through the secret mask."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MASKER)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":
        for noisy in ("botocore", "boto3", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
