#!/usr/bin/env bash
# Makes what the tests drive the server with, and nothing the server itself
# needs: target/test-venv (HeyGen client libraries from PyPI, with
# target/heygen-mcp-0.0.3 beside it), target/face-venv
# (MediaPipe's Python package, which reads the face tests' videos), the web
# tests' node_modules (playwright-core from npm) and Debian's Chromium for
# them, and for the distributed-mode tests Debian's postgresql (the tests
# start throwaway clusters on free ports) and
# s3s-fs, an S3-compatible server from crates.io, in target/test-tools.
# Each part is remade only when its pinned versions change.
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

# A second HeyGen client, heygen-mcp 0.0.3: it ships the same module name as
# the first, and declares Python 3.12 though it runs on 3.11, so it goes into
# a folder of its own without its (already installed) dependencies.
old_client=target/heygen-mcp-0.0.3
if [ ! -f "$old_client/heygen_mcp/api_client.py" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --ignore-requires-python \
    --target "$old_client" heygen-mcp==0.0.3
fi

# MediaPipe's own Python package, which the face tests read videos with as a viewer would.
scripts/face-measures.sh --setup

web=crates/mouthpiece/tests/web
if ! cmp -s "$web/package-lock.json" "$web/node_modules/.package-lock.json"; then
  (cd "$web" && npm ci --silent --no-audit --no-fund)
fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  echo "Installing Debian packages for the tests: ${missing[*]} ..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

s3s_version=0.14.1
tools=target/test-tools
if [ "$("$tools/bin/s3s-fs" --version 2>/dev/null)" != "s3s-fs $s3s_version" ]; then
  echo "Building s3s-fs $s3s_version (an S3-compatible test server; about 3 minutes, once) ..."
  cargo install --quiet --locked --root "$tools" s3s-fs --version "$s3s_version" --features binary
fi
