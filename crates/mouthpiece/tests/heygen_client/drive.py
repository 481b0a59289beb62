"""Drives a running Mouthpiece server through an existing HeyGen client
library from PyPI, `heygen-mcp-sbroenne` (the maintained fork of the HeyGen
MCP server), changing nothing but its base URL. The library validates every
reply with strict pydantic models and reports a failed validation in the
reply's `error`, so each call below checks that `error` is None.

Usage: python drive.py BASE_URL API_KEY PHOTO_PATH
Exits non-zero with a message on the first mismatch.
"""

import asyncio
import sys
import time

import httpx
from common import check, make_avatar
from heygen_mcp.client import HeyGenApiClient
from heygen_mcp.models import Character, Dimension, VideoGenerateRequest, VideoInput, Voice


async def main(base, key, photo):
    group_id = await make_avatar(base, key, photo)
    HeyGenApiClient.BASE_URL = f"{base}/v2"
    async with HeyGenApiClient(key, max_retries=1) as client:
        voices = check(await client.get_voices(), "get_voices")
        ids = [v.voice_id for v in voices.voices]
        assert "en-us-joe" in ids, ids[:5]
        neural = next(v for v in voices.voices if v.voice_id == "en-us-joe")
        assert neural.emotion_support and neural.support_pause, neural
        assert neural.preview_audio.startswith(base), neural.preview_audio

        check(await client.get_remaining_credits(), "get_remaining_credits")

        groups = check(await client.list_avatar_groups(), "list_avatar_groups")
        assert [g.id for g in groups.avatar_groups] == [group_id], groups
        looks = check(await client.get_avatars_in_group(group_id), "get_avatars_in_group")
        assert looks.avatars and looks.avatars[0].id, looks
        avatars = check(await client.list_avatars(), "list_avatars")
        assert any(a.avatar_id == looks.avatars[0].id for a in avatars.avatars), avatars

        request = VideoGenerateRequest(
            title="from the HeyGen client",
            video_inputs=[VideoInput(
                character=Character(avatar_id=looks.avatars[0].id),
                voice=Voice(input_text="This video was ordered through a HeyGen client library.",
                            voice_id="en-us-joe"),
            )],
            dimension=Dimension(width=256, height=256),
        )
        generated = check(await client.generate_avatar_video(request), "generate_avatar_video")
        video_id = generated.video_id
        assert video_id, generated

        deadline = time.monotonic() + 180
        while True:
            status = check(await client.get_video_status(video_id), "get_video_status")
            if status.status == "completed":
                break
            assert status.status in ("pending", "processing", "waiting"), status
            assert time.monotonic() < deadline, "the video was not done in time"
            await asyncio.sleep(0.5)
        assert status.video_url and status.video_url.startswith(base), status
        assert status.duration and status.duration > 1.0, status
        assert status.thumbnail_url and status.gif_url, status

        listed = check(await client.list_videos(), "list_videos")
        assert [v.video_id for v in listed.videos] == [video_id], listed
        assert listed.videos[0].status == "completed", listed

        async with httpx.AsyncClient(timeout=60) as http:
            video = await http.get(status.video_url)
            assert video.status_code == 200 and video.content[4:8] == b"ftyp", video.status_code
    print(f"HeyGen client: {len(ids)} voices, avatar {group_id}, video {video_id} ({status.duration} s)")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
