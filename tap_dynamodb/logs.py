"""Logging to stderr, with every configured secret masked in every line (botocore's included)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

MASK = "********"
SHORT_SECRET = 8  # values shorter than this are masked as whole tokens only
MIN_SECRET = 4  # shorter values would mask ordinary words; CREDENTIAL_PATTERNS still hide them in place

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
        self._short: list[re.Pattern[str]] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these values. One of at least SHORT_SECRET characters is masked wherever it occurs; a
        shorter one (`local`, `test`) only where it stands as a whole token, so that it does not
        rewrite unrelated words, and always as the value of a credential field (CREDENTIAL_PATTERNS)."""
        for secret in secrets:
            if not secret or len(secret) < MIN_SECRET or secret in self.secrets:
                continue  # (a credential field's value is masked by its place, however short)
            self.secrets.append(secret)
            if len(secret) < SHORT_SECRET:
                self._short.append(re.compile(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])"))
        self.secrets.sort(key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if len(secret) >= SHORT_SECRET and secret in text:
                text = text.replace(secret, MASK)
        for pattern in self._short:
            text = pattern.sub(MASK, text)
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
