#!/usr/bin/env bash
# Sets everything up and runs Mouthpiece: installs missing Debian packages,
# builds the release binary, renders the demo video from the bundled
# public-domain portrait, creates an API key and starts the server on its
# embedded default (SQLite file + local data directory).
#
#   ./demo.sh            listen on 127.0.0.1:8080, data in ./data
#   MOUTHPIECE_LISTEN=0.0.0.0:9000 MOUTHPIECE_DATA_DIR=/srv/mp ./demo.sh
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install-deps.sh

cargo build --release --locked -p mouthpiece
bin=target/release/mouthpiece
data="${MOUTHPIECE_DATA_DIR:-data}"
listen="${MOUTHPIECE_LISTEN:-127.0.0.1:8080}"
mkdir -p "$data/files/demo"

"$bin" render --photo assets/portraits/astronaut.png \
  --text "Hello! I am Mouthpiece. Give me one photo and a few words, and I will say them for you, right here on your own computer." \
  --size 720x406 --background '#ffffff' -o "$data/files/demo/demo.mp4"

key="$("$bin" keys create --data-dir "$data" --name demo | tail -n 1)"
url="http://$listen"
cat <<INFO

  Mouthpiece is starting.
    web app      $url/?key=$key   (this link signs you in)
    demo video   $url/files/demo/demo.mp4   (also at $data/files/demo/demo.mp4)
    API          $url   (HeyGen-compatible: point your client's base URL here; reference at $url/docs)
    API key      $key
    try          curl -H "X-Api-Key: $key" $url/v2/voices

INFO
exec "$bin" serve --listen "$listen" --data-dir "$data"
