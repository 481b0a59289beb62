#!/usr/bin/env bash
# Makes target/test-venv, the Python environment the tests drive the server
# with (a HeyGen client library from PyPI), and remakes it when its
# requirements change. Only the tests use Python.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=crates/mouthpiece/tests/heygen_client/requirements.txt
venv=target/test-venv
if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$venv/requirements.txt"; then exit 0; fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
cp "$requirements" "$venv/requirements.txt"
echo "Test environment ready in $venv"
