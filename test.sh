#!/usr/bin/env bash
# Runs the whole test suite: installs missing Debian packages, then builds
# (debug profile, dependencies optimised) and runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install-deps.sh
export MOUTHPIECE_LOG="${MOUTHPIECE_LOG:-warn}"
cargo test --workspace --locked
