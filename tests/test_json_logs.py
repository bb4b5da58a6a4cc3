"""``log_format = "json"``: one JSON object a line, and no secret in the log in either format.

The settings' own ``repr`` keeps secrets out (``repr=False``); these tests make sure the JSON
format adds nothing the text format leaves out, by logging the whole settings object with
every secret set, in a real ``assistant`` process configured by ``setup_logging``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli.logs import JsonFormatter
from assistant.config import Settings, load_settings
from assistant.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_a_json_log_line_has_time_level_logger_and_message() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("assistant.test_json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("heard %r in %s", "二番\nnext", "ja")
        try:
            raise ValueError("broken")
        except ValueError:
            logger.exception("it failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "heard '二番\\nnext' in ja"
    assert first["level"] == "warning" and first["logger"] == "assistant.test_json"
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert second["message"] == "it failed" and "ValueError: broken" in second["exception"]


SETTINGS_LOGGED = """
import logging, sys
from assistant.cli.logs import setup_logging
from assistant.config import load_settings
settings = load_settings()
setup_logging(settings)
logging.getLogger("assistant.started").info("settings: %s", settings)
logging.getLogger("assistant.started").debug("not shown at info")
"""


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_the_log_format_setting_and_no_secret_in_either(log_format: str, tmp_path: Path) -> None:
    secrets = {
        "ASSISTANT_METRICS_TOKEN": "metrics-secret-0123456789",
        "ASSISTANT_TELEGRAM_TOKEN": "123456:telegram-secret-abcdefghijklmnopqrstuv",
        "ASSISTANT_OPENAI_API_KEY": "sk-openai-secret-0123456789",
    }
    environ = {
        **os.environ, **secrets, "ASSISTANT_LOG_FORMAT": log_format,
        "ASSISTANT_DATA_DIR": str(tmp_path),
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", SETTINGS_LOGGED],
        env=environ, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    for secret in secrets.values():
        assert secret not in done.stderr
    if log_format == "json":
        line = json.loads(lines[0])
        assert line["level"] == "info" and line["logger"] == "assistant.started"
        assert line["message"].startswith("settings: Settings(")
    else:
        assert " INFO assistant.started: settings: Settings(" in lines[0]


def test_log_format_is_text_unless_set_and_only_text_or_json() -> None:
    assert Settings().log_format == "text"
    assert load_settings(environ={"ASSISTANT_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT.*text, json"):
        load_settings(environ={"ASSISTANT_LOG_FORMAT": "xml"})
