#!/usr/bin/env bash
# Writes docs/voices.md (every voice of the catalogue) and a short MP3
# sample of each under docs/voices/, spoken by `mouthpiece` itself.
#   scripts/voice-samples.sh [path/to/mouthpiece]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/mouthpiece}"
out=docs/voices
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
{
  echo "# Voices"
  echo
  echo "Every voice Mouthpiece offers (\`GET /v2/voices\`, \`mouthpiece voices\`), with a sample"
  echo "of each saying the digits one to five in its language. Made by \`scripts/voice-samples.sh\`."
  echo
  echo "| voice_id | language | gender | name | sample |"
  echo "|---|---|---|---|---|"
} > docs/voices.md
"$bin" voices | tail -n +2 | while read -r id language gender name; do
  "$bin" render --photo assets/portraits/astronaut.png --text "1, 2, 3, 4, 5." --voice "$id" \
    --size 128x128 -o "$work/$id.mp4" </dev/null >/dev/null 2>&1
  ffmpeg -nostdin -v error -y -i "$work/$id.mp4" -vn -ac 1 -c:a libmp3lame -b:a 32k "$out/$id.mp3"
  echo "| \`$id\` | $language | $gender | $name | [listen](voices/$id.mp3) |" >> docs/voices.md
done
echo "docs/voices.md: $(grep -c '^| `' docs/voices.md) voices"
