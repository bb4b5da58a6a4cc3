#!/bin/sh
# The image's entry point: `docker run IMAGE serve`, `... kiosk`, `... jobs list` run
# `assistant ARGS`. A secret given as a file (compose's secrets, /run/secrets/NAME) is named
# by ASSISTANT_<KEY>_FILE: its content becomes ASSISTANT_<KEY>, which is what the service
# reads (assistant/config.py), so no secret has to sit in the environment of `docker inspect`.
set -eu
for variable in $(env | sed -n 's/^\(ASSISTANT_[A-Z0-9_]*\)_FILE=.*/\1/p'); do
  file="$(printenv "${variable}_FILE")"
  if [ ! -r "$file" ]; then
    echo "entrypoint: ${variable}_FILE names $file, which cannot be read" >&2
    exit 2
  fi
  value="$(cat "$file")"
  export "$variable=$value"
  unset "${variable}_FILE"
done
exec /opt/facility-assistant/.venv/bin/assistant "$@"
