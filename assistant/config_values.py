"""Converters from a raw setting (TOML or an environment variable's text) to its value.

Each takes the key's label (the file and key, or the variable) and the raw value, and raises
``ConfigError`` naming that label and what is allowed, so a wrong value stops start-up.
Apart from ``config`` so its list of settings reads as a table of keys and their checks.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError


def folder(key: str, value: Any) -> Path:
    """A folder, with ``~`` expanded."""
    if not isinstance(value, str | Path) or not str(value).strip():
        raise ConfigError(f"{key}: must be a folder path")
    return Path(value).expanduser()


def plain_text(key: str, value: Any) -> str:
    """Any text, stripped of surrounding space."""
    if not isinstance(value, str):
        raise ConfigError(f"{key}: must be text")
    return value.strip()


def choice(*allowed: str) -> Callable[[str, Any], str]:
    """A converter that takes one of ``allowed`` words."""

    def convert(key: str, value: Any) -> str:
        if value not in allowed:
            raise ConfigError(f"{key}: {value!r} is not allowed; use one of: {', '.join(allowed)}")
        return value

    return convert


def integer(low: int, high: int) -> Callable[[str, Any], int]:
    """A converter that takes a whole number from ``low`` to ``high``."""

    def convert(key: str, value: Any) -> int:
        try:
            number = int(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(value, float) or not low <= number <= high:
            raise ConfigError(f"{key}: {value!r} is not allowed; use a whole number {low}-{high}")
        return number

    return convert


def number(low: float, high: float, unit: str) -> Callable[[str, Any], float]:
    """A converter that takes a number from ``low`` to ``high``, named by its ``unit``."""

    def convert(key: str, value: Any) -> float:
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise ConfigError(
                f"{key}: {value!r} is not allowed; use {unit} from {low:g} to {high:g}"
            )
        return number

    return convert


def kiosk_id(key: str, value: Any) -> str:
    """A kiosk's name: short, and safe in a file name and a log line."""
    text = plain_text(key, value)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", text):
        raise ConfigError(f"{key}: {text!r} must be 1-40 letters, digits, - or _")
    return text


def screen_token(key: str, value: Any) -> str:
    """The kiosk screen's token: long and hard to guess, since it shows people's codes."""
    text = plain_text(key, value)
    if text and not re.fullmatch(r"[A-Za-z0-9_.~-]{16,256}", text):
        raise ConfigError(
            f"{key}: use 16-256 letters, digits, '-', '_', '.' or '~' "
            "(for example the output of: python3 -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    return text


def flag(key: str, value: Any) -> bool:
    """True or false, also as the words an environment variable holds (yes, off, 1...)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key}: {value!r} is not allowed; use true or false")


def token(key: str, value: Any) -> str:
    """A Telegram bot token, checked for its shape so a pasted typo is found at start-up."""
    text = plain_text(key, value)
    if text and not re.fullmatch(r"\d{3,20}:[A-Za-z0-9_-]{20,80}", text):
        raise ConfigError(f"{key}: does not look like a bot token from @BotFather (digits:letters)")
    return text


def user_ids(key: str, value: Any) -> tuple[int, ...]:
    """Telegram user ids, as a list or comma-separated text."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(f"{key}: must be a list of Telegram user ids, e.g. [12345, 67890]")
    ids = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if isinstance(item, bool) or not text.isdigit():
            raise ConfigError(f"{key}: {item!r} is not a Telegram user id (a whole number)")
        ids.append(int(text))
    return tuple(ids)


def secret(key: str, value: Any) -> str:
    """A token we ask clients for: long, and safe in a header."""
    text = plain_text(key, value)
    if text and not re.fullmatch(r"[A-Za-z0-9._~+/=-]{16,200}", text):
        raise ConfigError(f"{key}: use 16-200 letters, digits or ._~+/=- (a long random token)")
    return text


def api_key(key: str, value: Any) -> str:
    """Any key a server hands out, but one line of visible characters (it goes in a header)."""
    text = plain_text(key, value)
    if text and not re.fullmatch(r"[\x21-\x7e]{1,400}", text):
        raise ConfigError(f"{key}: use the key exactly as the server gave it (no spaces)")
    return text


def url(key: str, value: Any) -> str:
    """An http(s) address, or nothing."""
    text = plain_text(key, value)
    if text and not text.startswith(("http://", "https://")):
        raise ConfigError(f"{key}: {text!r} must start with http:// or https://")
    return text


def database_url(key: str, value: Any) -> str:
    """A PostgreSQL address (``postgresql://`` or ``postgres://``), or nothing for SQLite."""
    text = plain_text(key, value)
    if text and not text.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"{key}: must start with postgresql:// (for example "
            "postgresql://assistant@127.0.0.1/assistant), or be empty for SQLite in data_dir"
        )
    return text


def redis_url(key: str, value: Any) -> str:
    """A Redis address (``redis://``, ``rediss://`` or ``unix://``), or nothing."""
    text = plain_text(key, value)
    if text and not text.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{key}: must start with redis://, rediss:// or unix://")
    return text


def time_zone(key: str, value: Any) -> str:
    """A time zone name the system knows, checked now rather than when a page is made."""
    text = plain_text(key, value)
    try:
        zoneinfo.ZoneInfo(text)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as err:
        raise ConfigError(f"{key}: {text!r} is not a time zone name like Asia/Tokyo") from err
    return text


def replica_url(key: str, value: Any) -> str:
    """Where Litestream replicates to: a folder (``file:///...``) or ``s3://bucket/path``;
    keys go in their own settings, never in the address (which is logged)."""
    text = plain_text(key, value)
    if not text:
        return text
    match = re.fullmatch(r"(file|s3)://([^/@]*)(/.*)?", text)
    if match is None or "@" in text:
        raise ConfigError(
            f"{key}: {text!r} must be file:///a/folder or s3://bucket/path "
            "(the S3 keys go in litestream_s3_access_key_id and litestream_s3_secret_access_key)"
        )
    scheme, host, path = match.groups()
    if scheme == "file" and (host or not path or path == "/"):
        raise ConfigError(f"{key}: {text!r}: a folder is written file:///absolute/path")
    if scheme == "s3" and not host:
        raise ConfigError(f"{key}: {text!r}: name the bucket, as in s3://bucket/path")
    return text


def networks(key: str, value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses and networks (``127.0.0.1``, ``10.0.0.0/8``, ``::1``), as a list or
    comma-separated text; names are not looked up, and a network of every address is
    refused, since trusting it would let each client choose its own address."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(
            f'{key}: must be a list of IP addresses or networks, e.g. ["127.0.0.1", "10.0.0.0/8"]'
        )
    found: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in items:
        text = item.strip() if isinstance(item, str) else None
        if text == "":
            continue
        if text is None:
            raise ConfigError(f'{key}: {item!r} is not an address; write it as text, "10.0.0.2"')
        try:
            network = ipaddress.ip_network(text)
        except ValueError as err:
            raise ConfigError(_not_a_network(key, text)) from err
        if network.prefixlen == 0:
            raise ConfigError(
                f"{key}: {text!r} would trust every address, so any client could choose its "
                "own by sending X-Forwarded-For; name only your proxies' addresses"
            )
        found.append(network)
    return tuple(found)


def _not_a_network(key: str, text: str) -> str:
    """Why ``text`` is not an address or network, with what was perhaps meant."""
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return (
            f"{key}: {text!r} is not an IP address or network; use addresses like 127.0.0.1 "
            "or networks like 10.0.0.0/8 (host names are not looked up)"
        )
    address = text.partition("/")[0]
    return (
        f"{key}: {text!r} has bits set past its prefix: write the network {loose} or the "
        f"one address {address}"
    )


def check_combinations(settings: Any) -> None:
    """Settings that are each right but wrong together (``settings``: a ``Settings``), each
    refused in one sentence naming the key to change."""
    if settings.llm_backend == "openai" and not settings.openai_base_url:
        raise ConfigError(
            "openai_base_url: llm_backend is openai, so give the server's address "
            "(for example http://127.0.0.1:8000/v1)"
        )
    if settings.user_send and not (settings.smtp_host and settings.smtp_from):
        raise ConfigError(
            "user_send: sending to users' addresses needs a mail server; set smtp_host and "
            "smtp_from as well, or leave user_send off"
        )
    if settings.database_url and settings.litestream_replica_url:
        raise ConfigError(
            "litestream_replica_url: Litestream replicates the SQLite file, and database_url "
            "puts the data on PostgreSQL; use PostgreSQL's WAL archiving there (README "
            '"Backups"), or leave database_url empty'
        )
    if settings.kiosk_pause_s <= settings.kiosk_reprompt_s:
        raise ConfigError(
            f"kiosk_pause_s ({settings.kiosk_pause_s:g}) must be longer than kiosk_reprompt_s "
            f"({settings.kiosk_reprompt_s:g}): the kiosk offers the question again before it pauses"
        )


def shown_database_url(url: str) -> str:
    """``database_url`` without its user and password, for messages and logs."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "(a database_url that cannot be read)"
    host = parts.hostname or urllib.parse.parse_qs(parts.query).get("host", [""])[0]
    return f"postgresql://{host}{':' + str(port) if port else ''}/{parts.path.lstrip('/')}"
