#!/usr/bin/env python3
"""Makes the quick start's demo through the API, as any client would: the
bundled portrait is uploaded, made a talking photo and trained, and a video
of it speaking is ordered and followed to completion (with its progress),
all for the key given, so the web app opens with both in its library.
Only Python's standard library; prints the video's URL last.

Usage: demo-order.py BASE_URL API_KEY PHOTO TEXT
"""
import json
import sys
import time
import urllib.error
import urllib.request


def call(base, key, method, path, body=None, content_type="application/json"):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)
    request.add_header("X-Api-Key", key)
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.load(reply)
    except urllib.error.HTTPError as error:
        sys.exit(f"demo: {method} {path} answered {error.code}: {error.read().decode(errors='replace')}")


def main(base, key, photo, text):
    with open(photo, "rb") as f:
        asset = call(base, key, "POST", "/v1/asset?name=astronaut.png", f.read(), "image/png")
    image_key = asset["data"]["image_key"]
    group = call(base, key, "POST", "/v2/photo_avatar/avatar_group/create", {"name": "Demo", "image_key": image_key})
    group_id = group["data"]["id"]
    call(base, key, "POST", "/v2/photo_avatar/train", {"group_id": group_id})
    order = {
        "title": "Mouthpiece demo",
        "video_inputs": [{
            "character": {"type": "talking_photo", "talking_photo_id": group_id},
            "voice": {"type": "text", "input_text": text, "voice_id": "en-us-joe"},
            "background": {"type": "color", "value": "#ffffff"},
        }],
        "dimension": {"width": 720, "height": 406},
    }
    video_id = call(base, key, "POST", "/v2/video/generate", order)["data"]["video_id"]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = call(base, key, "GET", f"/v1/video_status.get?video_id={video_id}")["data"]
        if status["status"] == "completed":
            print(f"\r  demo video: done ({status['duration']:.1f} s of video)", file=sys.stderr)
            print(status["video_url"])
            return
        if status["status"] == "failed":
            sys.exit(f"demo: the video failed: {status['error']}")
        print(f"\r  demo video: {status['status']} {status.get('progress', 0):.0f}%", end="", file=sys.stderr)
        time.sleep(0.5)
    sys.exit("demo: the video was not done in 10 minutes")


if __name__ == "__main__":
    main(*sys.argv[1:5])
