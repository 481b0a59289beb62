#!/usr/bin/env python3
"""The API path's speed, against its own encode-only floor, in one run.

Starts `mouthpiece serve` (the binary given, a fresh data directory, one
worker), makes the portrait's avatar and waits for its training, then
orders a video of about 10 s (the neural voice, 720×406) through
`POST /v2/video/generate` and polls its status every 20 ms until it is
completed: that wall time is the API path. The server's own stage timings
(/metrics) split it: the render's preparation (placing the photo, the
motion), its wait for the first sentences of speech, drawing with its
encode (and the GIF preview, the sound and their joining), the store, and
the rest (the job's pickup, loading the avatar, the database, the client's
polling). The voice speaks while the frames are drawn: its own time is
shown beside, overlapped with the others. One untimed order first warms
the server (the neural voice loads on first use). Then the floor: the same video's
frames, decoded to raw RGB beforehand, encoded alone by ffmpeg with the
server's settings (libx264 veryfast, CRF 20, AAC), timed. Runs alternate,
so a noisy machine hits both alike.

Usage: bench-api.py [--bin target/release/mouthpiece] [--runs 3]
Python's standard library only.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT = (
    "Good morning, and welcome. This is a short message from the team, made from one photo. "
    "We hope the day goes well, that the work is kind to you, and that we will see you again very soon."
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, key, method, path, body=None, content_type="application/json"):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)
    request.add_header("X-Api-Key", key)
    request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.load(reply)


def stage_sums(base):
    """Seconds spent per stage so far, from the server's /metrics."""
    text = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    return {m[0]: float(m[1]) for m in re.findall(r'mouthpiece_stage_seconds_sum\{stage="(\w+)"\} ([0-9.e+-]+)', text)}


def floor_seconds(video, work):
    """Encodes the video's own frames and sound alone, as the server does; returns the seconds it took."""
    raw, wav = os.path.join(work, "frames.rgb"), os.path.join(work, "sound.wav")
    probe = json.loads(subprocess.check_output(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "json", video]))["streams"][0]
    subprocess.check_call(["ffmpeg", "-v", "error", "-y", "-i", video, "-f", "rawvideo", "-pix_fmt", "rgb24", raw])
    subprocess.check_call(["ffmpeg", "-v", "error", "-y", "-i", video, "-vn", wav])
    started = time.monotonic()
    subprocess.check_call([
        "ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{probe['width']}x{probe['height']}", "-framerate", "25", "-i", raw, "-i", wav,
        "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-b:a", "128k", "-ar", "44100",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-movflags", "+faststart", os.path.join(work, "floor.mp4")])
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target/release/mouthpiece"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        key = subprocess.check_output([args.bin, "keys", "create", "--data-dir", data]).decode().split()[-1]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.setdefault("MOUTHPIECE_LOG", "warn")
        server = subprocess.Popen([args.bin, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data,
                                   "--workers", "1"], env=env)
        try:
            for _ in range(150):
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            with open(os.path.join(ROOT, "assets/portraits/astronaut.png"), "rb") as f:
                asset = call(base, key, "POST", "/v1/asset", f.read(), "image/png")
            group = call(base, key, "POST", "/v2/photo_avatar/avatar_group/create",
                         {"name": "bench", "image_key": asset["data"]["image_key"]})["data"]["id"]
            call(base, key, "POST", "/v2/photo_avatar/train", {"group_id": group})
            while call(base, key, "GET", f"/v2/photo_avatar/train/status/{group}")["data"]["status"] != "ready":
                time.sleep(0.1)
            order = {"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group},
                                       "voice": {"type": "text", "input_text": TEXT, "voice_id": "en-us-joe"}}],
                     "dimension": {"width": 720, "height": 406}}
            stages = ("render_prepare", "waiting_for_speech", "draw_and_encode", "store")
            print("run  video_s  api_s  " + "  ".join(f"{s}_s" for s in stages)
                  + "  rest_s  speech_s (overlapped)  floor_s  api/floor")
            for run in range(0, args.runs + 1):
                before = stage_sums(base)
                started = time.monotonic()
                video_id = call(base, key, "POST", "/v2/video/generate", order)["data"]["video_id"]
                while True:
                    status = call(base, key, "GET", f"/v1/video_status.get?video_id={video_id}")["data"]
                    if status["status"] in ("completed", "failed"):
                        break
                    time.sleep(0.02)
                api = time.monotonic() - started
                if status["status"] == "failed":
                    sys.exit(f"the video failed: {status['error']}")
                after = stage_sums(base)
                if run == 0:
                    continue
                spent = {stage: after.get(stage, 0.0) - before.get(stage, 0.0) for stage in stages + ("speech",)}
                rest = api - sum(spent[s] for s in stages)
                with tempfile.TemporaryDirectory() as work:
                    video = os.path.join(work, "video.mp4")
                    urllib.request.urlretrieve(status["video_url"], video)
                    floor = floor_seconds(video, work)
                split = "  ".join(f"{spent[s]:{len(s) + 2}.2f}" for s in stages)
                print(f"{run:>3}  {status['duration']:7.2f}  {api:5.2f}  {split}  {rest:6.2f}  "
                      f"{spent['speech']:22.2f}  {floor:7.2f}  {api / floor:9.2f}")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
