#!/usr/bin/env bash
# Runs `mouthpiece bench` with Python's piper-tts timed beside the neural
# voice, on the same text and model. piper-tts goes into a throwaway
# virtualenv (only for this comparison; Mouthpiece never runs Python).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)/piper-venv"
trap 'rm -rf "$(dirname "$venv")"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet piper-tts==1.3.0 onnxruntime==1.32.0
cargo build --release --locked -p mouthpiece
target/release/mouthpiece bench --python-piper "$venv/bin/python" "$@"
