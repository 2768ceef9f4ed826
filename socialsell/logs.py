"""Structured logs: one line per event, JSON with ``--log-json``. Secrets are never logged."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from socialsell.redact import redact

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


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
