#!/usr/bin/env python3
"""Writes crates/mouthpiece/tests/heygen_v3_fields.json: for each v3 call
Mouthpiece serves, the fields of the `data` of HeyGen's reply, which of
them are required and each one's JSON type, as HeyGen publishes them.

HeyGen's CLI (github.com/heygen-com/heygen-cli) embeds each endpoint's
OpenAPI reply schema in its generated commands (gen/*.go). Give this
script a checkout of it; the fixture was made from commit 7699a8e:

    python3 scripts/heygen-v3-fields.py path/to/heygen-cli
"""
import glob
import json
import re
import sys

SERVED = [
    "post /v3/videos", "get /v3/videos", "get /v3/videos/{video_id}", "delete /v3/videos/{video_id}",
    "get /v3/videos/batches/{batch_id}", "get /v3/videos/statuses",
    "post /v3/avatars", "get /v3/avatars", "get /v3/avatars/{group_id}", "delete /v3/avatars/{group_id}",
    "get /v3/avatars/looks", "get /v3/avatars/looks/{look_id}", "patch /v3/avatars/looks/{look_id}",
    "delete /v3/avatars/looks/{look_id}",
    "post /v3/assets", "get /v3/assets", "get /v3/assets/{asset_id}", "delete /v3/assets/{asset_id}",
    "get /v3/voices", "get /v3/voices/{voice_id}", "post /v3/voices/speech", "post /v3/voices/clone",
    "get /v3/users/me",
    "post /v3/webhooks/endpoints", "get /v3/webhooks/endpoints", "patch /v3/webhooks/endpoints/{endpoint_id}",
    "delete /v3/webhooks/endpoints/{endpoint_id}", "post /v3/webhooks/endpoints/{endpoint_id}/rotate-secret",
    "get /v3/webhooks/event-types", "get /v3/webhooks/events",
]


def json_type(schema):
    if "type" in schema:
        return schema["type"]
    return "object" if "oneOf" in schema or "anyOf" in schema else None


def fields(schema):
    properties = {}
    for name, field in schema.get("properties", {}).items():
        properties[name] = {"type": json_type(field), "nullable": bool(field.get("nullable"))}
        items = field.get("items", {})
        if json_type(field) == "array" and "properties" in items:
            properties[name]["items"] = fields(items)
    return {"required": schema.get("required", []), "properties": properties}


def main(checkout):
    specs = {}
    for path in sorted(glob.glob(f"{checkout}/gen/*.go")):
        source = open(path).read()
        for body in re.findall(r"&command\.Spec\{(.*?)\n\}\n", source, re.S):
            endpoint = re.search(r'Endpoint:\s*"([^"]*)"', body)
            method = re.search(r'Method:\s*"([^"]*)"', body)
            reply = re.search(r'ResponseSchema:\s*"((?:[^"\\]|\\.)*)"', body)
            if endpoint and method and reply:
                schema = json.loads(json.loads('"' + reply.group(1) + '"'))
                specs[f"{method.group(1).lower()} {endpoint.group(1)}"] = schema
    endpoints = {}
    for operation in SERVED:
        data = specs.get(operation, {}).get("properties", {}).get("data")
        if data is None:
            continue
        listed = data.get("type") == "array"
        endpoints[operation] = {"list": listed, **fields(data["items"] if listed else data)}
    document = {
        "source": "HeyGen's v3 OpenAPI reply schemas as embedded in heygen-com/heygen-cli at commit 7699a8e "
        "(gen/video.go, gen/asset.go, gen/avatar.go, gen/voice.go, gen/user.go, gen/webhook.go): the `data` of "
        "each reply, its required fields and each field's JSON type. Facts about HeyGen's wire format, extracted "
        "by a script; no descriptions copied.",
        "endpoints": endpoints,
    }
    with open("crates/mouthpiece/tests/heygen_v3_fields.json", "w") as out:
        json.dump(document, out, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
