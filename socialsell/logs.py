"""Structured logs: one line per event, JSON with ``--log-json``. Secrets are never logged."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

# A last line of defence: secrets come from the environment or the keyring and are never put in a
# log call on purpose, but a library's error message may quote a header or a URL.
_SECRET_PATTERNS = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"(?i)\b((?:access_|refresh_|bearer_|api_|client_)?(?:token|secret|password|api_key|apikey))"
                r"(\"?\s*[:=]\s*\"?)[^\s\"&,;]+"), r"\1\2***"),
    (re.compile(r"(://[^:/@\s]+):[^@/\s]+@"), r"\1:***@"),
]


def redact(value: Any) -> Any:
    """``value`` with anything that looks like a credential replaced by ``***``."""
    if isinstance(value, str):
        for pattern, repl in _SECRET_PATTERNS:
            value = pattern.sub(repl, value)
        return value
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        data.update({k: redact(v) for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            data["error"] = redact(self.formatException(record.exc_info).splitlines()[-1])
        return json.dumps(data, default=str)


class LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = {k: redact(v) for k, v in vars(record).items() if k not in _STANDARD and k != "event"}
        tail = " ".join(f"{k}={v}" for k, v in extra.items())
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"{when} {record.levelname.lower():7} {redact(record.getMessage())}" + (f" {tail}" if tail else "")
        if record.exc_info:  # one line per event: the exception's last line, not the traceback
            line += " error=" + repr(redact(self.formatException(record.exc_info).splitlines()[-1]))
        return line


def setup_logging(json_lines: bool = False, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else LineFormatter())
    root = logging.getLogger("socialsell")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
