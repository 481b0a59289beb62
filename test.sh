#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (Debian packages, the
# neural voice, and what the tests drive the server with: a Python HeyGen
# client, playwright-core and Chromium), then builds
# (debug profile, dependencies optimised) and runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install-deps.sh
bash scripts/test-env.sh
export MOUTHPIECE_LOG="${MOUTHPIECE_LOG:-warn}"
cargo test --workspace --locked
