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
exec "$VENV/bin/python" -m pytest "$@"
