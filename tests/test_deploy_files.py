"""The deployment files of issue 17, checked with the tools this machine has.

No Docker daemon runs here and systemd is not PID 1, so nothing is built or started: the
compose files are checked against the compose specification's own JSON schema
(deploy/schema/), the units by ``systemd-analyze verify`` and its offline security rating,
Prometheus's configurations by ``promtool``, the image's health check and entry point by
running them, and every setting and command the files name against what the code reads.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from aiohttp.test_utils import TestServer

from assistant.cli.main import main
from assistant.config import CONFIG_ENV, KEYS, PROJECT_ROOT, Settings, load_settings
from assistant.jobs.catalog import JobCatalog
from assistant.server import init_app
from assistant.store.sqlite import SQLiteStore

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE = PROJECT_ROOT / "compose.yaml"
CLUSTER = PROJECT_ROOT / "compose.cluster.yaml"
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
INSTALLED = "/opt/facility-assistant"  # where the units and the image keep the code
STATE = "/var/lib/facility-assistant"  # and the data folder and published sites
# compose.cluster.yaml names these for the parts of issue 17 not yet built, and only it.
PLANNED_SETTINGS: set[str] = set()  # database_url and redis_url are read now
PLANNED_COMMANDS: set[str] = set()  # `assistant worker` exists (generation on Celery)
# Read by the project without being settings: the TOML file's name, scripts/setup.sh's extras.
OTHER_VARIABLES = {CONFIG_ENV, "ASSISTANT_EXTRAS"}
# Mounted by the compose files but not in the repository: the operator's secrets and
# certificates, and the metrics part's alert rules and dashboard (deploy/prometheus/ and
# deploy/grafana/ of issue 17), which may land after these files.
NOT_IN_THE_REPOSITORY = {
    "deploy/compose/secrets", "deploy/compose/tls", "deploy/prometheus", "deploy/grafana",
}  # fmt: skip


def _yaml(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


def _unit(path: Path) -> list[tuple[str, str, str]]:
    """A unit file as (section, key, value) lines, in order (keys may repeat)."""
    entries, section = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key, value))
    return entries


def _unit_values(path: Path, key: str) -> list[str]:
    return [value for _, name, value in _unit(path) if name == key]


def _unit_environment(path: Path) -> dict[str, str]:
    return dict(value.split("=", 1) for value in _unit_values(path, "Environment"))


def _dockerfile_env(stage: str) -> dict[str, str]:
    """The ENV values of one stage of the Dockerfile (continuation lines joined)."""
    text = DOCKERFILE.split(f" AS {stage}", 1)[1].split("\nFROM ", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", text)
    found: dict[str, str] = {}
    for line in joined.splitlines():
        if line.startswith("ENV "):
            for name, value in re.findall(r'(\w+)=("[^"]*"|\S+)', line[4:]):
                found[name] = value.strip('"')
    return found


def _dockerfile_json(instruction: str) -> list[str]:
    line = next(x for x in DOCKERFILE.splitlines() if x.startswith(instruction + " "))
    words = json.loads(line[len(instruction) + 1 :].strip())
    assert isinstance(words, list)
    return [str(word) for word in words]


def _healthcheck() -> list[str]:
    """The HEALTHCHECK's CMD, an exec-form list."""
    block = re.sub(r"\\\n\s*", " ", DOCKERFILE.split("HEALTHCHECK", 1)[1])
    words = json.loads(block.split("CMD", 1)[1].split("\n", 1)[0])
    return [str(word) for word in words]


def test_the_compose_files_follow_the_compose_specification() -> None:
    schema = json.loads((DEPLOY / "schema" / "compose-spec.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    for path in (COMPOSE, CLUSTER):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in validator.iter_errors(_yaml(path))]  # fmt: skip
        assert not errors, (path.name, errors)
    # The schema is strict: a misspelt key or a wrong type is caught.
    wrong = {"services": {"app": {"image": "x", "restart_policy": "always", "ports": "80:80"}}}
    assert len(list(validator.iter_errors(wrong))) == 2


def _compose_environments() -> dict[str, set[str]]:
    """Every ASSISTANT_* name each compose file sets, per file name."""
    names: dict[str, set[str]] = {}
    for path in (COMPOSE, CLUSTER):
        services = _yaml(path)["services"]
        names[path.name] = {
            name for service in services.values()
            for name in (service.get("environment") or {}) if name.startswith("ASSISTANT_")
        }  # fmt: skip
    return names


def _setting(variable: str) -> str | None:
    """The setting an ASSISTANT_* variable sets (``_FILE``: through the entry point), or None."""
    if variable in OTHER_VARIABLES:
        return None
    key = variable.removeprefix("ASSISTANT_").removesuffix("_FILE").lower()
    return key


def test_the_deployment_names_only_settings_the_service_reads() -> None:
    named: dict[str, set[str]] = _compose_environments()
    named["Dockerfile"] = {n for n in _dockerfile_env("runtime") if n.startswith("ASSISTANT_")}
    named["Dockerfile builder"] = {
        n for n in _dockerfile_env("builder") if n.startswith("ASSISTANT_")
    }
    for unit in UNITS:
        named[unit.name] = {n for n in _unit_environment(unit) if n.startswith("ASSISTANT_")}
    for example in (DEPLOY / "systemd").glob("*.env.example"):
        text = example.read_text(encoding="utf-8")
        named[example.name] = set(re.findall(r"^#?(ASSISTANT_\w+)=", text, re.MULTILINE))
    unknown = {
        source: {v for v in variables if (key := _setting(v)) is not None and key not in KEYS}
        for source, variables in named.items()
    }
    assert unknown.pop(CLUSTER.name) <= {f"ASSISTANT_{k.upper()}" for k in PLANNED_SETTINGS} | {
        f"ASSISTANT_{k.upper()}_FILE" for k in PLANNED_SETTINGS
    }
    assert not any(unknown.values()), unknown
    assert named["Dockerfile builder"] == {"ASSISTANT_EXTRAS"}
    extras = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = _dockerfile_env("builder")["ASSISTANT_EXTRAS"].split(",")
    assert set(wanted) <= set(extras["optional-dependencies"]) and "dev" not in wanted


def test_the_service_behind_nginx_trusts_nginx_and_keeps_its_limits_per_address() -> None:
    """Issue 17: the app trusts exactly the proxy in front of it (on one machine 127.0.0.1,
    in compose nginx's fixed address in the project's subnet), so its limits per address
    stay on: no file turns them off or raises them for a shared address."""
    env_example = (DEPLOY / "systemd" / "assistant.env.example").read_text(encoding="utf-8")
    example = dict(re.findall(r"^(ASSISTANT_\w+)=(.*)$", env_example, re.MULTILINE))
    one_machine = load_settings(environ=example)
    assert one_machine.trusted_proxies == (ipaddress.ip_network("127.0.0.1"),)
    compose = _yaml(COMPOSE)
    app, nginx = compose["services"]["app"], compose["services"]["nginx"]
    literal = {k: str(v) for k, v in app["environment"].items() if "${" not in str(v)}
    in_containers = load_settings(environ=literal)  # what compose fills in from .env aside
    address = ipaddress.ip_address(nginx["networks"]["default"]["ipv4_address"])
    assert in_containers.trusted_proxies == (ipaddress.ip_network(address),)
    (subnet,) = compose["networks"]["default"]["ipam"]["config"]
    assert address in ipaddress.ip_network(subnet["subnet"])
    defaults = Settings()
    for settings in (one_machine, in_containers):
        for key in ("new_sessions_per_address", "audio_address_streams", "staff_address_failures"):
            assert getattr(settings, key) == getattr(defaults, key), key


def _commands() -> dict[str, list[str]]:
    """What each file runs as ``assistant ARGS``: the image's CMD, the compose services built
    from it, and the units' ExecStart."""
    commands = {"Dockerfile CMD": _dockerfile_json("CMD")}
    for path in (COMPOSE, CLUSTER):
        for name, service in _yaml(path)["services"].items():
            ours = "build" in service or service.get("extends", {}).get("service") == "app"
            if ours and "command" in service:
                commands[f"{path.name} {name}"] = list(service["command"])
    for unit in UNITS:
        (start,) = _unit_values(unit, "ExecStart")
        program, *arguments = start.split()
        assert program == f"{INSTALLED}/.venv/bin/assistant", unit.name
        commands[unit.name] = arguments
    return commands


def test_every_command_the_deployment_starts_is_one_of_ours(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each command line, with ``--help``, through the real command line's parser."""
    commands = _commands()
    assert {"Dockerfile CMD", "facility-assistant.service"} <= set(commands)
    for source, arguments in commands.items():
        with pytest.raises(SystemExit) as ended:
            main([*arguments, "--help"])
        said = capsys.readouterr()
        if arguments[0] in PLANNED_COMMANDS:
            assert source.startswith(CLUSTER.name), source  # only where it says "not yet"
            assert ended.value.code == 2 and "invalid choice" in said.err, (
                f"`assistant {arguments[0]}` exists now: compose.cluster.yaml, its test and "
                'README "Deployment" still say it is not built'
            )
        else:
            assert ended.value.code == 0, (source, said.err[-2000:])
    assert _dockerfile_json("CMD")[:1] == ["serve"] and "0.0.0.0" in _dockerfile_json("CMD")
    assert f"EXPOSE {Settings().port}" in DOCKERFILE


def test_the_systemd_units_pass_systemd_analyze(tmp_path: Path) -> None:
    """``verify`` with the code where this checkout has it (it checks ExecStart exists), and
    the offline security rating: each unit must stay "OK" or better."""
    analyze = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8").replace(INSTALLED, str(PROJECT_ROOT))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    copies = [str(tmp_path / unit.name) for unit in UNITS]
    verified = subprocess.run([analyze, "verify", "--man=no", *copies],
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    for copy in copies:
        rated = subprocess.run(
            [analyze, "security", "--offline=true", "--no-pager", copy],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        level = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", rated.stdout)
        assert level is not None, rated.stdout[-1000:] + rated.stderr
        assert float(level.group(1)) < 5.0 and level.group(2) in ("OK", "SAFE"), level.group(0)
    (bad := tmp_path / "bad.service").write_text(
        "[Service]\nExecStart=/bin/true\nProtectSytem=strict\n", encoding="utf-8"
    )
    misspelt = subprocess.run([analyze, "verify", "--man=no", str(bad)],
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert "Unknown key" in misspelt.stderr  # warnings go to stderr, which must stay empty


def test_the_units_the_image_and_nginx_agree_on_the_folders() -> None:
    data, site = f"{STATE}/data", f"{STATE}/site"
    runtime = _dockerfile_env("runtime")
    assert (runtime["ASSISTANT_DATA_DIR"], runtime["ASSISTANT_SITE_DIR"]) == (data, site)
    for unit in UNITS:
        environment = _unit_environment(unit)
        assert (environment["ASSISTANT_DATA_DIR"], environment["ASSISTANT_SITE_DIR"]) == (
            data, site,
        ), unit.name  # fmt: skip
        assert _unit_values(unit, "ProtectSystem") == ["strict"], unit.name
        assert STATE in _unit_values(unit, "ReadWritePaths")[0].split(), unit.name
        assert _unit_values(unit, "Restart") == ["on-failure"], unit.name
        assert _unit_values(unit, "User") == ["facility-assistant"], unit.name
    kiosk = DEPLOY / "systemd" / "facility-assistant-kiosk.service"
    assert _unit_values(kiosk, "SupplementaryGroups") == ["audio"]
    assert _unit_values(kiosk, "DeviceAllow") == ["char-alsa rw"]
    nginx = (DEPLOY / "nginx" / "assistant.conf").read_text(encoding="utf-8")
    assert f"alias {site}/;" in nginx
    compose = _yaml(COMPOSE)["services"]
    assert f"assistant-data:{STATE}" in compose["app"]["volumes"]
    assert f"assistant-data:{STATE}:ro" in compose["nginx"]["volumes"]
    for path in (COMPOSE, CLUSTER):  # the upstream nginx's command renames is in the file
        command = " ".join(_yaml(path)["services"]["nginx"]["command"])
        (renamed,) = re.findall(r"s/(server 127\.0\.0\.1:8080;)/", command)
        assert nginx.count(renamed) == 1, path.name
    assert "USER facility-assistant" in DOCKERFILE and "-DGGML_NATIVE=OFF" in DOCKERFILE


async def test_the_image_s_health_check_asks_the_service_s_health_route(
    store: SQLiteStore, catalog: JobCatalog
) -> None:
    """The HEALTHCHECK's own command against the real application: 0 while the database
    answers, not 0 when it fails (503) or nothing listens."""
    command = [sys.executable if word == "python" else word for word in _healthcheck()]
    server = TestServer(init_app(store, catalog))
    await server.start_server()
    environment = {**os.environ, "ASSISTANT_PORT": str(server.port)}

    async def check() -> int:
        process = await asyncio.create_subprocess_exec(*command, env=environment)
        return await process.wait()

    try:
        assert await check() == 0
        await store.close()  # the database fails: /healthz answers 503
        assert await check() != 0
    finally:
        await server.close()
    assert await check() != 0  # nothing listens


def test_the_entry_point_turns_secret_files_into_settings(tmp_path: Path) -> None:
    script = (DEPLOY / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    assert os.access(DEPLOY / "docker" / "entrypoint.sh", os.X_OK)
    (copy := tmp_path / "entrypoint.sh").write_text(
        script.replace(f"{INSTALLED}/.venv/bin/assistant", "/usr/bin/env"), encoding="utf-8"
    )
    (token := tmp_path / "metrics_token").write_text("s3cret-token\n", encoding="utf-8")
    base = {"PATH": os.environ["PATH"]}
    run = subprocess.run(["sh", str(copy)], env={**base, "ASSISTANT_METRICS_TOKEN_FILE": str(token)},
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert "ASSISTANT_METRICS_TOKEN=s3cret-token\n" in run.stdout
    assert "_FILE=" not in run.stdout
    missing = {**base, "ASSISTANT_SMTP_PASSWORD_FILE": str(tmp_path / "none")}
    refused = subprocess.run(["sh", str(copy)], env=missing, capture_output=True, text=True,
                             check=False)  # fmt: skip
    assert refused.returncode == 2 and "ASSISTANT_SMTP_PASSWORD_FILE" in refused.stderr


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore leaves ``path`` out of the context, as Docker reads it: a pattern
    matches the path or a folder above it (a trailing slash is dropped, so ``models/*/`` is
    ``models/*`` and takes the files too), ``**/`` any depth, ``!`` takes back, the last
    matching pattern wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        expression = re.compile(_glob(pattern.lstrip("!").rstrip("/")))
        if any(expression.fullmatch(prefix) for prefix in prefixes):
            ignored = not negated
    return ignored


def _glob(pattern: str) -> str:
    """A .dockerignore pattern as a regular expression: ``*`` and ``?`` stay within one name."""
    out = ""
    for piece in re.split(r"(\*\*/|\*|\?)", pattern):
        out += {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}.get(piece, re.escape(piece))
    return out


def test_the_docker_context_keeps_what_the_build_needs_and_no_local_data() -> None:
    lines = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    needed = ["pyproject.toml", "constraints.txt", "setup.py", "MANIFEST.in", "README.md",
              "LICENSE", "package.json", "package-lock.json", "scripts/setup.sh",
              "assistant/server.py", "channels/web/channel.py", "generators/browser.py",
              "dialogs/jobs", "models/manifest.yaml", "voices/profiles.yaml",
              "deploy/docker/entrypoint.sh"]  # fmt: skip
    assert not [p for p in needed if _ignored(p, patterns) or not (PROJECT_ROOT / p).exists()]
    private = [".venv/bin/python", "data/assistant.db", "assistant.toml", ".env", "x/y.env",
               "node_modules/chart.js", "models/whisper-base/model.bin", ".git/config",
               "deploy/compose/secrets/metrics_token", "tests/test_deploy_files.py"]  # fmt: skip
    assert [p for p in private if not _ignored(p, patterns)] == []


def test_the_prometheus_configurations_pass_promtool(tmp_path: Path) -> None:
    """With the secret and the rule file where the container would have them."""
    (rules := tmp_path / "alerts.yml").write_text("groups: []\n", encoding="utf-8")
    (token := tmp_path / "metrics_token").write_text("token\n", encoding="utf-8")
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    for name in ("prometheus.yml", "prometheus-cluster.yml"):
        text = (DEPLOY / "compose" / name).read_text(encoding="utf-8")
        assert text.count("/run/secrets/metrics_token") == 1, name
        text = text.replace("/run/secrets/metrics_token", str(token))
        text = text.replace("/etc/prometheus/rules/alerts.yml", str(rules))
        (copy := tmp_path / name).write_text(text, encoding="utf-8")
        checked = subprocess.run([promtool, "check", "config", str(copy)],
                                 capture_output=True, text=True, check=False)  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_compose_files_mount_only_what_the_repository_holds() -> None:
    for path in (COMPOSE, CLUSTER):
        document = _yaml(path)
        sources = [v.split(":")[0] for s in document["services"].values()
                   for v in s.get("volumes", []) if v.startswith("./")]  # fmt: skip
        sources += [s["file"] for s in (document.get("secrets") or {}).values()]
        for source in sources:
            relative = source.removeprefix("./")
            if any(relative.startswith(x) for x in NOT_IN_THE_REPOSITORY):
                continue
            assert (PROJECT_ROOT / relative).exists(), (path.name, source)
