#!/usr/bin/env bash
# Renders a few sentences from the bundled portrait and from variants of it
# (greyscale and cropped-and-turned, made with ffmpeg; the mouth shut, in
# assets/portraits),
# and tiles every 5th frame into contact sheets under docs/contact-sheets/.
#   scripts/contact-sheets.sh [path/to/mouthpiece] [output folder]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/mouthpiece}"
out="${2:-docs/contact-sheets}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
portrait=assets/portraits/astronaut.png

ffmpeg -v error -y -i "$portrait" -vf "format=gray,format=rgb24" "$work/greyscale.png"
ffmpeg -v error -y -i "$portrait" -vf "crop=300:330:80:0,rotate=20*PI/180:fillcolor=white" "$work/turned.png"

sheet() { # name, photo, text, extra render flags...
  local name="$1" photo="$2" text="$3"
  shift 3
  "$bin" render --photo "$photo" --text "$text" --size 640x360 -o "$work/$name.mp4" "$@" >/dev/null
  ffmpeg -v error -y -i "$work/$name.mp4" \
    -vf "select='not(mod(n\,5))',crop=ih:ih,scale=200:200,tile=8x3:padding=4:color=white" -frames:v 1 "$out/$name.png"
  echo "$out/$name.png"
}

closeup() { # name, photo, text, frame numbers...: 1080x1080 square, the face at full size
  local name="$1" photo="$2" text="$3"
  shift 3
  local pick
  pick="$(printf "eq(n\\,%s)+" "$@")"
  "$bin" render --photo "$photo" --text "$text" --size 1080x1080 --frame square -o "$work/$name-closeup.mp4" >/dev/null
  ffmpeg -v error -y -i "$work/$name-closeup.mp4" \
    -vf "select='${pick%+}',crop=600:600:240:160,tile=3x2:padding=4:color=white" -frames:v 1 "$out/$name-closeup.png"
  echo "$out/$name-closeup.png"
}

sheet astronaut "$portrait" "Good morning! My name is Eileen, and I flew the space shuttle. The view from orbit is simply wonderful." --frame square
sheet greyscale "$work/greyscale.png" "Please remember: five big boxes, a few quiet bees, and one warm welcome." --frame square
sheet turned "$work/turned.png" "Would you like to hear a story? Open the window, and watch the moon." --frame circle --expressive
sheet closed-mouth assets/portraits/astronaut-closed-mouth.png "Hello there! I am very happy to meet you all at the launch pad today." --frame square

# Close-ups at 1080x1080: six moments each (wide vowels, rounding, f, blinks and turns of the head).
closeup astronaut "$portrait" "Who knows? Five wide, open valleys, and you will see them from far above." 8 22 40 58 80 110
closeup greyscale "$work/greyscale.png" "Who knows? Five wide, open valleys, and you will see them from far above." 8 22 40 58 80 110
closeup closed-mouth assets/portraits/astronaut-closed-mouth.png "Who knows? Five wide, open valleys, and you will see them from far above." 8 22 40 58 80 110
