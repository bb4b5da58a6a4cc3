"""How the commands log: plain lines for a person, or one JSON object a line for a collector.

``log_format = "json"`` (issue 17) writes each record as one line of JSON with its time
(ISO 8601, UTC), level, logger and message, and the traceback when there is one. It holds
exactly what the text format shows and nothing more (no ``extra`` fields, no arguments
apart from the message they made), so switching formats cannot let a secret into the log
that the text format kept out: settings print without their secrets (``repr=False``), and
no handler logs a token or password in its message.
"""

from __future__ import annotations

import datetime
import faulthandler
import json
import logging
import signal
import sys

from assistant.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message`` (and
    ``exception`` or ``stack`` when the record carries them)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # One line whatever the message holds: newlines are escaped; non-ASCII kept readable.
        return json.dumps(line, ensure_ascii=False)


def log_handler(log_format: str) -> logging.Handler:
    """A handler on standard error writing ``log_format`` (``text`` or ``json``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    return handler


def setup_logging(settings: Settings, quiet: bool = False) -> None:
    """Log at the settings' level and format (``quiet``: warnings only, for commands whose
    output is what they print)."""
    level = logging.WARNING if quiet else getattr(logging, settings.log_level.upper())
    logging.basicConfig(level=level, handlers=[log_handler(settings.log_format)])
    if not quiet and hasattr(signal, "SIGUSR1"):
        # A service that seems stuck: `kill -USR1 PID` writes every thread's stack to its
        # log (standard error) and it goes on running (README, "Troubleshooting").
        faulthandler.register(signal.SIGUSR1, all_threads=True)
