#!/usr/bin/env bash
# Reproduces the ONNX face models committed under assets/models/.
#
# Not part of set-up: the converted .onnx files are committed, so neither
# TensorFlow nor this script is needed to build or run Mouthpiece. Run it only
# to regenerate or audit the models. Everything comes from PyPI by name:
#   mediapipe==0.10.21      the Apache-2.0 TFLite models (last release shipping them)
#   tf2onnx==1.17.0 + tensorflow-cpu==2.21.0   the converter
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="$here/assets/models"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q tf2onnx==1.17.0 tensorflow-cpu==2.21.0 onnx
"$work/venv/bin/pip" download -q --no-deps -d "$work" mediapipe==0.10.21
unzip -q -o "$work"/mediapipe-0.10.21-*.whl -d "$work/wheel" \
  'mediapipe/modules/face_detection/face_detection_short_range.tflite' \
  'mediapipe/modules/face_landmark/face_landmark.tflite' \
  'mediapipe/modules/iris_landmark/iris_landmark.tflite' \
  'mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite' \
  'mediapipe-0.10.21.dist-info/LICENSE'

convert() { # tflite path, output path, opset
  "$work/venv/bin/python" -m tf2onnx.convert --opset "$3" \
    --tflite "$work/wheel/mediapipe/modules/$1" --output "$2" 2>&1 | tail -n 2
}
convert face_detection/face_detection_short_range.tflite "$out/face_detection_short_range.onnx" 13
convert face_landmark/face_landmark.tflite "$out/face_landmark.onnx" 13
convert iris_landmark/iris_landmark.tflite "$out/iris_landmark.onnx" 13
# HardSwish needs opset 14; the custom upsampling op is then rewritten by hand.
convert selfie_segmentation/selfie_segmentation.tflite "$work/selfie_segmentation.onnx" 14
"$work/venv/bin/python" "$here/scripts/fix-segmentation.py" "$work/selfie_segmentation.onnx" "$out/selfie_segmentation.onnx"
cp "$work/wheel/mediapipe-0.10.21.dist-info/LICENSE" "$out/LICENSE-mediapipe"
sha256sum "$out"/*.onnx
