#!/usr/bin/env bash
# Sets everything up and runs Mouthpiece: installs missing Debian packages,
# builds the release binary, creates an API key, starts the server on its
# embedded default (SQLite file + local data directory) and, through the API
# for that key, makes the demo: a talking photo of the bundled public-domain
# portrait and a video of it speaking, so the web app it links to opens with
# both in its library.
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
text="Hello! I am Mouthpiece. Give me one photo and a few words, and I will say them for you, right here on your own computer."

key="$("$bin" keys create --data-dir "$data" --name demo | tail -n 1)"
url="http://$listen"
"$bin" serve --listen "$listen" --data-dir "$data" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 100); do
  python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url/healthz" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
  sleep 0.2
done
echo "Making the demo through the API ..."
video_url="$(python3 scripts/demo-order.py "$url" "$key" assets/portraits/astronaut.png "$text")"
cat <<INFO

  Mouthpiece is running.
    web app      $url/?key=$key   (this link signs you in; the demo avatar and video are in its library)
    demo video   $video_url
    API          $url   (HeyGen-compatible: point your client's base URL here; reference at $url/docs)
    API key      $key
    try          curl -H "X-Api-Key: $key" $url/v2/voices

INFO
wait "$server"
