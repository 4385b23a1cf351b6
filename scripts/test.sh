#!/usr/bin/env bash
# Set up a virtualenv with every member installed in development mode, then run the whole
# test suite (extra arguments go to pytest). Works on a fresh machine; reruns are quick.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${APIEDIT_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch only for the tests of comfy/ (ComfyUI provides it in real use); pinned to the CPU wheel.
"$VENV/bin/python" -m pip install --quiet -r requirements-dev.txt -c constraints-dev.txt
# The web-extension test (tests/comfyui/test_web_extension.py) drives Debian's Chromium; a test
# tool's own browser download does not work here. Installed once, as root (~30 s).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ]; then
  echo "test.sh: installing Debian's chromium for the browser test"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
exec "$VENV/bin/python" -m pytest "$@"
