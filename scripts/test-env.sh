#!/usr/bin/env bash
# Makes what the tests drive the server with, and nothing the server itself
# needs: target/test-venv (a HeyGen client library from PyPI), the web
# tests' node_modules (playwright-core from npm) and Debian's Chromium for
# them. Each part is remade only when its pinned versions change.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=crates/mouthpiece/tests/heygen_client/requirements.txt
venv=target/test-venv
if ! { [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$venv/requirements.txt"; }; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
  echo "Python test environment ready in $venv"
fi

web=crates/mouthpiece/tests/web
if ! cmp -s "$web/package-lock.json" "$web/node_modules/.package-lock.json"; then
  (cd "$web" && npm ci --silent --no-audit --no-fund)
fi

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  echo "Installing Debian's chromium for the web tests ..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
