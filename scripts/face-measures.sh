#!/usr/bin/env bash
# Measures a video with MediaPipe's face mesh (scripts/face-measures.py says
# what and in which units), first making its Python venv if it is missing:
#   scripts/face-measures.sh video.mp4 [--words words.json] [--json out.json]
# The venv is $FACE_MEASURES_VENV, /tmp/mp-venv by default. The mediapipe
# wheel ships its models, so only PyPI is needed, and only the first time.
set -euo pipefail
venv="${FACE_MEASURES_VENV:-/tmp/mp-venv}"
if ! "$venv/bin/python" -c 'import mediapipe, sys; sys.exit(mediapipe.__version__ != "0.10.21")' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet mediapipe==0.10.21 numpy==1.26.4
fi
exec "$venv/bin/python" "$(dirname "$0")/face-measures.py" "$@"
