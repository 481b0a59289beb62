#!/usr/bin/env bash
# The distributed-mode scale benchmark (docs/benchmarks.md): 16 videos
# through one front end and 1, 2, then 4 worker processes sharing a
# throwaway Postgres and an S3-compatible server, in a release build.
# Needs what ./test.sh installs (scripts/test-env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-env.sh
MOUTHPIECE_LOG=warn cargo test --release --locked -p mouthpiece --test distributed -- \
  --ignored --nocapture bench_throughput_by_worker_count
