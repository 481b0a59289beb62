#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (Debian packages, the
# neural voice, and what the tests drive the server with: a Python HeyGen
# client, playwright-core, Chromium, Postgres and an S3-compatible server),
# then builds (debug profile, dependencies optimised) and runs every test of
# the workspace; then the API tests once more with each server on a real
# Postgres and S3 server instead of the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install-deps.sh
bash scripts/test-env.sh
export MOUTHPIECE_LOG="${MOUTHPIECE_LOG:-warn}"
cargo test --workspace --locked
MOUTHPIECE_TEST_DISTRIBUTED=1 cargo test --locked -p mouthpiece --test api --test v3
