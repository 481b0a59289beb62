"""What both HeyGen client drivers share: the avatar made with plain HTTP
(neither library uploads to anything but HeyGen's own upload host or makes
avatar groups), and the check that a library accepted a reply.
"""

import sys

import httpx


def check(reply, what):
    if reply.error is not None:
        sys.exit(f"{what}: the client refused the reply: {reply.error}")
    return reply


async def make_avatar(base, key, photo):
    """Upload, group and train with plain HTTP: the library uploads to a
    fixed host (upload.heygen.com) and has no avatar group calls."""
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": key}, timeout=60) as http:
        with open(photo, "rb") as f:
            asset = (await http.post("/v1/asset", content=f.read(), headers={"Content-Type": "image/png"})).json()
        image_key = asset["data"]["image_key"]
        group = (await http.post("/v2/photo_avatar/avatar_group/create",
                                 json={"name": "client test", "image_key": image_key})).json()
        group_id = group["data"]["id"]
        await http.post("/v2/photo_avatar/train", json={"group_id": group_id})
        return group_id
