//! The v3 part of the OpenAPI document: HeyGen's current API as this
//! server answers it. Field names and types follow HeyGen's published v3
//! schemas (read from `heygen-com/heygen-cli`, whose generated commands
//! embed them); the API tests check the two against each other and every
//! real reply against this.

use super::{
    array, integer, json_body, nullable, object, operation, path_parameter, query_parameter, reference, string, url,
    v3, v3_list, v3_list_parameters,
};
use serde_json::{Value, json};

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn number() -> Value {
    json!({"type": "number"})
}

/// `{type: url | asset_id | base64, …}`: a file given inline.
fn asset_input() -> Value {
    json!({"oneOf": [
        object(&["type", "url"], json!({"type": {"const": "url"}, "url": url()})),
        object(&["type", "asset_id"], json!({"type": {"const": "asset_id"}, "asset_id": string()})),
        object(&["type", "data"], json!({"type": {"const": "base64"}, "media_type": string(), "data": string()})),
    ]})
}

/// What a speaker of a video is given: the fields `POST /v3/videos` and
/// a studio scene's `input` share.
fn performer() -> Value {
    json!({
        "type": {"enum": ["avatar", "image"]},
        "avatar_id": string(),
        "image": asset_input(),
        "script": {"type": "string", "maxLength": speech::MAX_TEXT_CHARS},
        "voice_id": string(),
        "audio_url": url(),
        "audio_asset_id": string(),
        "voice_settings": object(&[], json!({
            "speed": {"type": "number", "minimum": 0.5, "maximum": 1.5},
            "pitch": {"type": "number", "minimum": -50, "maximum": 50},
            "volume": {"type": "number", "description": "Accepted; speech is loudness-normalised"},
            "locale": {"type": "string", "description": "Another voice of the same gender that speaks it"},
        })),
        "background": object(&["type"], json!({
            "type": {"enum": ["color", "image"]}, "value": string(), "color": string(),
            "url": url(), "asset_id": string()})),
        "expressiveness": {"enum": ["low", "medium", "high"]},
        "motion_prompt": {"type": "string",
            "description": "Read for calm/still (steady head), energetic/lively/nod/look around (livelier head) and smile/happy"},
    })
}

fn create_video() -> Value {
    let mut properties = performer();
    let whole = json!({
        "type": {"enum": ["avatar", "image", "studio"]},
        "aspect_ratio": {"enum": ["16:9", "9:16", "4:5", "5:4", "1:1", "auto"]},
        "resolution": {"enum": ["720p", "1080p", "4k"], "description": "The frame's short side; 720p when not given"},
        "fit": {"enum": ["contain", "cover"]},
        "remove_background": boolean(),
        "caption": object(&[], json!({"file_format": {"const": "srt"}, "style": string()})),
        "output_format": {"enum": ["mp4", "webm"], "description": "webm: VP9 with an alpha channel, the person on a transparent background"},
        "title": string(), "callback_url": url(), "callback_id": string(),
        "watermark": object(&["image"], json!({
            "image": asset_input(),
            "opacity": {"type": "number", "minimum": 0, "maximum": 1},
            "scale": {"type": "number", "exclusiveMinimum": 0, "maximum": 5,
                "description": "1 is a fifth of the frame's width"},
            "placement": object(&[], json!({
                "position": {"enum": ["top_left", "top_right", "bottom_left", "bottom_right"]},
                "offset_x": {"type": "number", "minimum": 0, "maximum": 1,
                    "description": "From the corner, a fraction of the frame's width"},
                "offset_y": {"type": "number", "minimum": 0, "maximum": 1,
                    "description": "From the corner, a fraction of the frame's height"}}))})),
        "scenes": array(object(&["type", "input"], json!({
            "type": {"const": "avatar"}, "input": object(&["type"], performer())}))),
    });
    for (name, schema) in whole.as_object().into_iter().flatten() {
        properties[name] = schema.clone();
    }
    object(&["type"], properties)
}

/// A success reply given with another status than 200 (202 for a batch).
fn with_status(mut operation: Value, status: &str) -> Value {
    if let Some(responses) = operation["responses"].as_object_mut()
        && let Some(ok) = responses.remove("200")
    {
        responses.insert(status.to_string(), ok);
    }
    operation
}

fn deleted() -> Value {
    v3(object(&["id", "deleted"], json!({"id": string(), "deleted": {"const": true}})))
}

pub(super) fn paths() -> Value {
    let id = |name: &str| json!([path_parameter(name)]);
    json!({
        "/v3/videos": {
            "get": operation(3, "The key's videos, newest first, a page at a time",
                v3_list_parameters(vec![query_parameter("title", false, string())], 100),
                None, v3_list(reference("V3Video")), &[400]),
            "post": operation(3, "Order a video: an avatar, an image (no avatar needed first) or studio scenes",
                json!([]), Some(json_body(create_video())),
                v3(object(&["video_id", "status", "output_format"], json!({
                    "video_id": string(), "status": {"const": "pending"}, "output_format": {"enum": ["mp4", "webm"]}}))),
                &[400, 404, 413, 429])},
        "/v3/videos/{video_id}": {
            "get": operation(3, "A video's status and files", id("video_id"), None, v3(reference("V3Video")), &[404]),
            "delete": operation(3, "Delete a video and its files", id("video_id"), None, deleted(), &[404])},
        "/v3/videos/batches": {"post": with_status(operation(3, "Order up to 100 videos at once; all are queued or none",
            json!([]), Some(json_body(object(&["videos"], json!({
                "videos": {"type": "array", "items": create_video(), "minItems": 1, "maxItems": 100},
                "title": string(), "callback_url": url()})))),
            v3(object(&["batch_id", "status", "total_items"], json!({
                "batch_id": string(), "status": {"const": "processing"}, "total_items": integer(),
                "video_ids": array(string())}))),
            &[400, 404, 413, 429]), "202")},
        "/v3/videos/batches/{batch_id}": {"get": operation(3, "A batch's state and a page of its items",
            json!([path_parameter("batch_id"),
                   query_parameter("limit", false, json!({"type": "integer", "minimum": 1, "maximum": 100})),
                   query_parameter("token", false, string())]), None,
            v3(object(&["batch_id", "status", "total_items", "counts_by_status", "created_at", "items", "has_more"],
                json!({"batch_id": string(), "title": nullable(string()),
                       "status": {"enum": ["processing", "completed", "failed"]}, "total_items": integer(),
                       "counts_by_status": {"type": "object", "additionalProperties": integer()},
                       "created_at": integer(), "items": array(reference("V3BatchItem")),
                       "has_more": boolean(), "next_token": nullable(string())}))),
            &[400, 404])},
        "/v3/videos/statuses": {"get": operation(3, "The status of up to 100 videos, named or of batches",
            json!([query_parameter("video_ids", false, string()), query_parameter("batch_ids", false, string())]),
            None, v3_list(object(&["video_id", "status"], json!({
                "video_id": nullable(string()),
                "status": {"enum": ["pending", "processing", "completed", "failed", "not_found"]},
                "batch_id": nullable(string()), "item_index": nullable(integer()),
                "error": nullable(object(&["code", "message"], json!({"code": string(), "message": nullable(string())})))}))),
            &[400])},
        "/v3/avatars": {
            "get": operation(3, "The key's photo avatars (groups), a page at a time", v3_list_parameters(vec![], 50),
                None, v3_list(reference("V3AvatarGroup")), &[400]),
            "post": operation(3, "Make a photo avatar from a portrait; training starts at once", json!([]),
                Some(json_body(object(&["type", "file"], json!({
                    "type": {"const": "photo"}, "name": string(), "file": asset_input()})))),
                v3(object(&["avatar_group", "avatar_item"], json!({
                    "avatar_group": reference("V3AvatarGroup"), "avatar_item": reference("V3Look")}))),
                &[400, 404, 413])},
        "/v3/avatars/looks": {"get": operation(3, "The key's looks (one per photo avatar), a page at a time",
            v3_list_parameters(vec![query_parameter("group_id", false, string()),
                query_parameter("avatar_type", false, json!({"enum": ["studio_avatar", "digital_twin", "photo_avatar"]}))], 50),
            None, v3_list(reference("V3Look")), &[400])},
        "/v3/avatars/looks/{look_id}": {
            "get": operation(3, "One look", id("look_id"), None, v3(reference("V3Look")), &[404]),
            "patch": operation(3, "Rename a look", id("look_id"),
                Some(json_body(object(&[], json!({"name": string()})))), v3(reference("V3Look")), &[400, 404]),
            "delete": operation(3, "Delete a look (and its avatar: a photo avatar has one look)", id("look_id"), None,
                deleted(), &[404])},
        "/v3/avatars/{group_id}": {
            "get": operation(3, "One photo avatar", id("group_id"), None, v3(reference("V3AvatarGroup")), &[404]),
            "delete": operation(3, "Delete a photo avatar", id("group_id"), None, deleted(), &[404])},
        "/v3/assets": {
            "get": operation(3, "The key's uploads, newest first, a page at a time", v3_list_parameters(vec![], 100),
                None, v3_list(reference("V3Asset")), &[400]),
            "post": {
                "summary": "Upload a file as the multipart form field 'file'",
                "requestBody": {"required": true, "content": {"multipart/form-data": {"schema":
                    object(&["file"], json!({"file": {"type": "string", "format": "binary"}}))}}},
                "responses": operation(3, "", json!([]), None,
                    v3(object(&["asset_id", "url", "mime_type", "size_bytes"], json!({
                        "asset_id": string(), "url": url(), "mime_type": string(), "size_bytes": integer(),
                        "name": string(), "file_type": {"enum": ["image", "audio", "video"]}}))),
                    &[400, 413, 415])["responses"].clone()}},
        "/v3/assets/{asset_id}": {
            "get": operation(3, "One upload", id("asset_id"), None, v3(reference("V3Asset")), &[404]),
            "delete": operation(3, "Delete an upload that no avatar speaks through", id("asset_id"), None,
                deleted(), &[404, 409])},
        "/v3/voices": {"get": operation(3, "Voices, filtered by language and gender, a page at a time",
            v3_list_parameters(vec![query_parameter("language", false, string()),
                query_parameter("gender", false, json!({"enum": ["male", "female"]})),
                query_parameter("type", false, json!({"enum": ["public", "private"]}))], 100),
            None, v3_list(reference("V3Voice")), &[400])},
        "/v3/voices/{voice_id}": {"get": operation(3, "One voice", id("voice_id"), None,
            v3(reference("V3Voice")), &[404])},
        "/v3/voices/speech": {"post": operation(3, "Speak a text: a WAV (kept as an audio asset) with word timings",
            json!([]), Some(json_body(object(&["text", "voice_id"], json!({
                "text": {"type": "string", "minLength": 1, "maxLength": speech::MAX_TEXT_CHARS},
                "voice_id": string(), "input_type": {"const": "text"},
                "speed": {"type": "number", "minimum": 0.5, "maximum": 1.5}, "locale": string(),
                "language": string()})))),
            v3(object(&["audio_url", "duration", "word_timestamps"], json!({
                "audio_url": url(), "duration": number(), "request_id": nullable(string()), "asset_id": string(),
                "word_timestamps": array(object(&["word", "start", "end"], json!({
                    "word": string(), "start": number(), "end": number()})))}))),
            &[400, 404])},
        "/v3/voices/clone": {"post": operation(3, "Voice cloning: not available on this server (400)", json!([]),
            Some(json_body(object(&["voice_name", "audio"], json!({"voice_name": string(), "audio": asset_input()})))),
            v3(object(&["voice_clone_id"], json!({"voice_clone_id": string()}))), &[400])},
        "/v3/webhooks/endpoints": {
            "get": operation(3, "The key's webhook endpoints (secrets not shown)", v3_list_parameters(vec![], 100),
                None, v3_list(reference("V3WebhookEndpoint")), &[400]),
            "post": operation(3, "Register an endpoint; its signing secret is shown once", json!([]),
                Some(json_body(object(&["url"], json!({"url": url(), "events": array(reference("V3EventType"))})))),
                v3(reference("V3WebhookEndpoint")), &[400])},
        "/v3/webhooks/endpoints/{endpoint_id}": {
            "patch": operation(3, "Change an endpoint's URL or events", id("endpoint_id"),
                Some(json_body(object(&[], json!({"url": url(), "events": array(reference("V3EventType"))})))),
                v3(reference("V3WebhookEndpoint")), &[400, 404]),
            "delete": operation(3, "Remove an endpoint", id("endpoint_id"), None, deleted(), &[404])},
        "/v3/webhooks/endpoints/{endpoint_id}/rotate-secret": {"post": operation(3,
            "A new signing secret for an endpoint, shown once", id("endpoint_id"), None,
            v3(object(&["endpoint_id", "secret"], json!({"endpoint_id": string(), "secret": string()}))), &[404])},
        "/v3/webhooks/event-types": {"get": operation(3, "The events an endpoint may subscribe to",
            v3_list_parameters(vec![], 100), None,
            v3_list(object(&["event_type", "description"], json!({
                "event_type": reference("V3EventType"), "description": string()}))), &[400])},
        "/v3/webhooks/events": {"get": operation(3, "The events announced to the key, newest first",
            v3_list_parameters(vec![query_parameter("event_type", false, string()),
                query_parameter("entity_id", false, string())], 100), None,
            v3_list(object(&["event_id", "event_type", "event_data", "created_at"], json!({
                "event_id": string(), "event_type": reference("V3EventType"), "entity_id": string(),
                "event_data": {"type": "object"}, "created_at": {"type": "string", "format": "date-time"}}))),
            &[400])},
        "/v3/users/me": {"get": operation(3, "The API key as a user; credits are seconds of video", json!([]), None,
            v3(object(&["username", "email", "first_name", "last_name"], json!({
                "username": string(), "email": nullable(string()), "first_name": nullable(string()),
                "last_name": nullable(string()), "billing_type": {"const": "usage_based"},
                "wallet": nullable(object(&["currency"], json!({"currency": {"enum": ["usd", "credits"]},
                    "remaining_balance": nullable(number())}))),
                "subscription": nullable(object(&["plan", "credits"], json!({"plan": string(),
                    "credits": {"type": "object"}}))),
                "usage_based": object(&["included_credits", "remaining_credits"], json!({
                    "included_credits": nullable(number()), "remaining_credits": nullable(number()),
                    "spending_cap_usd": nullable(number()), "spending_current_usd": nullable(number()),
                    "used_seconds": number()}))}))),
            &[])},
    })
}

pub(super) fn schemas() -> Value {
    let status = json!({"enum": ["processing", "completed", "failed"]});
    let error = nullable(object(&["code", "message"], json!({"code": string(), "message": string()})));
    json!({
        "V3Voice": object(
            &["voice_id", "name", "gender", "language", "type", "support_pause", "support_locale", "preview_audio_url"],
            json!({"voice_id": string(), "name": string(), "gender": {"enum": ["male", "female"]},
                   "language": string(), "type": {"enum": ["public", "private"]}, "support_pause": boolean(),
                   "support_locale": boolean(), "support_interactive_avatar": boolean(),
                   "preview_audio_url": url()})),
        "V3Video": object(&["id", "status", "created_at"], json!({
            "id": string(), "status": {"enum": ["pending", "processing", "completed", "failed"]},
            "title": nullable(string()), "created_at": integer(), "completed_at": nullable(integer()),
            "duration": nullable(number()), "video_url": nullable(url()),
            "captioned_video_url": nullable(url()), "subtitle_url": nullable(url()),
            "thumbnail_url": nullable(url()), "gif_url": nullable(url()),
            "failure_code": nullable(string()), "failure_message": nullable(string()),
            "folder_id": nullable(string())})),
        "V3BatchItem": object(&["item_index", "status"], json!({
            "item_index": integer(), "status": {"enum": ["queued", "processing", "completed", "failed"]},
            "video_id": nullable(string()),
            "error": nullable(object(&["code", "message"], json!({"code": string(), "message": nullable(string())})))})),
        "V3AvatarGroup": object(&["id", "name", "created_at", "looks_count"], json!({
            "id": string(), "name": string(), "created_at": integer(), "looks_count": integer(),
            "status": status.clone(), "error": error.clone(), "gender": nullable(string()),
            "default_voice_id": nullable(string()), "consent_status": nullable(string()),
            "preview_image_url": nullable(url()), "preview_video_url": nullable(url())})),
        "V3Look": object(&["id", "name", "avatar_type"], json!({
            "id": string(), "name": string(), "avatar_type": {"const": "photo_avatar"},
            "group_id": nullable(string()), "status": status, "error": error, "gender": nullable(string()),
            "default_voice_id": nullable(string()), "image_width": nullable(integer()),
            "image_height": nullable(integer()),
            "preferred_orientation": nullable(json!({"enum": ["portrait", "landscape", "square"]})),
            "preview_image_url": nullable(url()),
            "preview_video_url": nullable(json!({"type": "string", "format": "uri",
                "description": "A short idle clip of the avatar, rendered once it is trained"})),
            "supported_api_engines": array(string()), "tags": array(string()), "created_at": integer()})),
        "V3EventType": {"enum": crate::webhooks::EVENTS.iter().map(|(name, _)| *name).collect::<Vec<_>>()},
        "V3WebhookEndpoint": object(&["endpoint_id", "url", "status", "created_at"], json!({
            "endpoint_id": string(), "url": url(), "events": array(reference("V3EventType")),
            "secret": nullable(string()), "status": {"const": "enabled"},
            "created_at": {"type": "string", "format": "date-time"}})),
        "V3Asset": object(&["id", "name", "type", "owner", "space_id", "uploaded_at"], json!({
            "id": string(), "name": string(), "type": {"enum": ["image", "audio", "video"]},
            "mime_type": string(), "size_bytes": integer(), "owner": string(), "space_id": string(),
            "folder_id": nullable(string()), "uploaded_at": integer(), "url": nullable(url())})),
    })
}
