"""Drives a running Mouthpiece server through the PyPI client
`heygen-mcp==0.0.3` (HeyGen's first MCP server), changing nothing but its
base URL, and makes every call it has: quota, voices, avatar groups, a
group's looks, generate, status. Its pydantic models are strict (absolute
URLs for previews, integers where HeyGen sends integers), and each call
reports a failed validation in the reply's `error`.

It declares Python 3.12 but runs on 3.11; scripts/test-env.sh installs it
with --no-deps into a folder of its own (target/heygen-mcp-0.0.3), since
heygen-mcp-sbroenne ships the same module name: run this with that folder
first on PYTHONPATH.

Usage: python drive_heygen_mcp.py BASE_URL API_KEY PHOTO_PATH
"""

import asyncio
import sys
import time

from common import check, make_avatar
from heygen_mcp.api_client import Character, Dimension, HeyGenApiClient, VideoGenerateRequest, VideoInput, Voice


async def main(base, key, photo):
    group_id = await make_avatar(base, key, photo)
    client = HeyGenApiClient(key)
    client.base_url = f"{base}/v2"
    try:
        credits = check(await client.get_remaining_credits(), "get_remaining_credits")
        assert credits.remaining_credits is not None, credits
        voices = check(await client.get_voices(), "get_voices")
        assert any(v.voice_id == "en-us-female" for v in voices.voices), voices
        groups = check(await client.list_avatar_groups(), "list_avatar_groups")
        assert [g.id for g in groups.avatar_groups] == [group_id], groups
        # A look's preview video must be an absolute URL for this client.
        deadline = time.monotonic() + 120
        while True:
            looks = check(await client.get_avatars_in_group(group_id), "get_avatars_in_group")
            if str(looks.avatars[0].preview_video_url).endswith(".mp4"):
                break
            assert time.monotonic() < deadline, "the idle clip was not rendered in time"
            await asyncio.sleep(0.5)
        request = VideoGenerateRequest(
            title="from heygen-mcp 0.0.3",
            video_inputs=[VideoInput(
                character=Character(avatar_id=looks.avatars[0].avatar_id),
                voice=Voice(input_text="Ordered through the first HeyGen MCP client.", voice_id="en-us-female"),
            )],
            dimension=Dimension(width=256, height=256),
        )
        generated = check(await client.generate_avatar_video(request), "generate_avatar_video")
        assert generated.video_id, generated
        deadline = time.monotonic() + 180
        while True:
            status = check(await client.get_video_status(generated.video_id), "get_video_status")
            if status.status == "completed":
                break
            assert status.status in ("pending", "processing", "waiting"), status
            assert time.monotonic() < deadline, "the video was not done in time"
            await asyncio.sleep(0.5)
        assert status.video_url and status.video_url.startswith(base), status
    finally:
        await client.close()
    print(f"heygen-mcp 0.0.3: {len(voices.voices)} voices, avatar {group_id}, video {generated.video_id}")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
