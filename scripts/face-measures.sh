#!/usr/bin/env bash
# Measures a video with MediaPipe's face mesh (scripts/face-measures.py says
# what and in which units), first making its Python venv if it is missing:
#   scripts/face-measures.sh video.mp4 [--words words.json] [--json out.json]
#   scripts/face-measures.sh --setup      (only make the venv; scripts/test-env.sh does)
# The venv is $FACE_MEASURES_VENV, target/face-venv by default (the tests use
# it too), remade when scripts/face-measures-requirements.txt changes. The
# mediapipe wheel ships its models, so only PyPI is needed, and only once.
set -euo pipefail
venv="${FACE_MEASURES_VENV:-$(dirname "$0")/../target/face-venv}"
requirements="$(dirname "$0")/face-measures-requirements.txt"
if ! { [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$venv/requirements.txt"; }; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
  echo "MediaPipe for face measures ready in $venv" >&2
fi
[ "${1:-}" = "--setup" ] && exit 0
exec "$venv/bin/python" "$(dirname "$0")/face-measures.py" "$@"
