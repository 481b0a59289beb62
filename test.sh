#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (Debian packages, the
# neural voice, the Python HeyGen client the API test drives), then builds
# (debug profile, dependencies optimised) and runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install-deps.sh
bash scripts/test-venv.sh
export MOUTHPIECE_LOG="${MOUTHPIECE_LOG:-warn}"
cargo test --workspace --locked
