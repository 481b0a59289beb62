//! `GET /openapi.json`: the served API as an OpenAPI 3.1 document, and
//! `GET /docs`, an interactive page (Swagger UI, embedded) built on it.
//!
//! The reply schemas are the contract with HeyGen's clients: they follow
//! HeyGen's documented examples field by field, with the types strict
//! clients check (integers where HeyGen sends integers, strings that are
//! never null, `error: null` on success). The API tests validate real
//! replies against these schemas, so the document cannot drift from what
//! the server says.

mod sessions;
mod v3;

use crate::App;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use serde_json::{Value, json};

/// Swagger UI 5 (npm `swagger-ui-dist`, Apache-2.0), see assets/swagger-ui/README.md.
const SWAGGER_JS: &str = include_str!("../../../../../assets/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_CSS: &str = include_str!("../../../../../assets/swagger-ui/swagger-ui.css");

pub(crate) async fn document(State(app): State<App>) -> Json<Value> {
    Json(build(&app.public_url))
}

pub(crate) async fn page() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<title>Mouthpiece API</title><link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\"></head>",
        "<body><div id=\"api\"></div><script src=\"/docs/swagger-ui-bundle.js\"></script>",
        "<script>SwaggerUIBundle({url: '/openapi.json', dom_id: '#api', persistAuthorization: true});</script>",
        "</body></html>"
    ))
}

pub(crate) async fn swagger_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SWAGGER_JS)
}

pub(crate) async fn swagger_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], SWAGGER_CSS)
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn integer() -> Value {
    json!({"type": "integer"})
}

fn nullable(schema: Value) -> Value {
    json!({"oneOf": [schema, {"type": "null"}]})
}

fn url() -> Value {
    json!({"type": "string", "format": "uri"})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

/// A v2 success: `{error: null, data}`.
fn v2(data: Value) -> Value {
    object(&["error", "data"], json!({"error": {"type": "null"}, "data": data}))
}

/// A v3 success: `{data}`.
fn v3(data: Value) -> Value {
    object(&["data"], json!({ "data": data }))
}

/// A v3 list page: `{data: [...], has_more, next_token}`.
fn v3_list(item: Value) -> Value {
    object(
        &["data", "has_more", "next_token"],
        json!({"data": array(item), "has_more": {"type": "boolean"}, "next_token": nullable(string())}),
    )
}

/// A v3 list's query: its `filters`, then `limit` (up to `max`) and `token`.
fn v3_list_parameters(mut filters: Vec<Value>, max: u32) -> Value {
    filters.push(query_parameter("limit", false, json!({"type": "integer", "minimum": 1, "maximum": max})));
    filters.push(query_parameter("token", false, string()));
    Value::Array(filters)
}

/// A v1 success: `{code: 100, message: "Success", data}`.
fn v1(data: Value) -> Value {
    object(&["code", "message", "data"], json!({"code": {"const": 100}, "message": string(), "data": data}))
}

fn reply(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// An operation: its summary, parameters, body and the replies it gives,
/// errors in the shape of its API version.
fn operation(version: u8, summary: &str, parameters: Value, body: Option<Value>, ok: Value, errors: &[u16]) -> Value {
    let error = match version {
        1 => reference("V1Error"),
        3 => reference("V3Error"),
        _ => reference("V2Error"),
    };
    let mut responses = json!({"200": reply("Success", ok)});
    for status in errors.iter().chain(&[401]) {
        responses[status.to_string()] = reply(error_meaning(*status), error.clone());
    }
    let mut operation = json!({"summary": summary, "parameters": parameters, "responses": responses});
    if let Some(body) = body {
        operation["requestBody"] = body;
    }
    operation
}

fn error_meaning(status: u16) -> &'static str {
    match status {
        400 => "The request is wrong; the message says what to change",
        401 => "Missing or invalid X-Api-Key",
        404 => "No such id for this API key",
        409 => "The request clashes with what is stored; the message says what to do first",
        413 => "The file is larger than the server's limit",
        415 => "The Content-Type is not one that is accepted",
        429 => "Too many requests or queued videos; the message says how many",
        503 => "A part of the deployment is down or missing; try again later",
        _ => "Error",
    }
}

fn path_parameter(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": string()})
}

fn query_parameter(name: &str, required: bool, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": required, "schema": schema})
}

fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn schemas() -> Value {
    let avatar_group = object(
        &["id", "name", "group_type", "created_at", "num_looks", "preview_image"],
        json!({"id": string(), "name": string(), "group_type": string(), "created_at": integer(),
               "num_looks": integer(), "preview_image": url(), "train_status": string()}),
    );
    let look = object(
        &["id", "name", "avatar_id", "avatar_name", "gender", "preview_image_url", "preview_video_url", "premium"],
        json!({"id": string(), "name": string(), "avatar_id": string(), "avatar_name": string(),
               "group_id": string(), "image_url": url(), "preview_image_url": url(),
               "preview_video_url": url(), "gender": string(), "premium": {"type": "boolean"},
               "status": string(), "created_at": integer()}),
    );
    let voice = object(
        &[
            "voice_id",
            "language",
            "gender",
            "name",
            "preview_audio",
            "support_pause",
            "emotion_support",
            "support_interactive_avatar",
        ],
        json!({"voice_id": string(), "language": string(), "gender": string(), "name": string(),
               "preview_audio": url(), "support_pause": {"type": "boolean"},
               "emotion_support": {"type": "boolean"}, "support_interactive_avatar": {"type": "boolean"}}),
    );
    let video_error =
        object(&["code", "message", "detail"], json!({"code": integer(), "message": string(), "detail": string()}));
    let video_status = object(
        &["id", "status", "video_url", "thumbnail_url", "gif_url", "caption_url", "duration", "created_at", "error"],
        json!({
            "id": string(),
            "status": {"enum": ["pending", "processing", "completed", "failed"]},
            "video_url": nullable(url()), "thumbnail_url": nullable(url()), "gif_url": nullable(url()),
            "caption_url": nullable(url()), "video_url_caption": nullable(url()),
            "duration": {"type": "number"}, "created_at": integer(), "callback_id": nullable(string()),
            "error": nullable(reference("VideoError")),
            "progress": {"type": "number", "description": "Percent done (Mouthpiece's own field)"},
            "eta_seconds": nullable(json!({"type": "number", "description": "Estimated seconds left (Mouthpiece's own field)"})),
        }),
    );
    let endpoint = object(
        &["endpoint_id", "url", "events", "secret", "status", "created_at"],
        json!({"endpoint_id": string(), "url": url(), "events": array(string()), "secret": string(),
               "status": string(), "created_at": integer()}),
    );
    let scene = object(
        &["character", "voice"],
        json!({
            "character": object(&["type"], json!({
                "type": {"enum": ["talking_photo", "avatar"]},
                "talking_photo_id": string(), "avatar_id": string(),
                "scale": {"type": "number", "exclusiveMinimum": 0, "maximum": 2},
                "offset": object(&["x", "y"], json!({"x": {"type": "number"}, "y": {"type": "number"}})),
                "talking_photo_style": {"enum": ["square", "circle"]},
                "talking_style": {"enum": ["stable", "expressive"]},
                "expression": {"enum": ["default", "happy"]},
                "matting": {"type": "boolean"},
            })),
            "voice": object(&["type"], json!({
                "type": {"enum": ["text", "audio", "silence"]},
                "input_text": {"type": "string", "maxLength": speech::MAX_TEXT_CHARS},
                "voice_id": string(),
                "speed": {"type": ["number", "string"], "description": "0.5 to 1.5"},
                "pitch": {"type": ["number", "string"], "description": "-50 to 50"},
                "emotion": {"enum": speech::Emotion::NAMES},
                "audio_asset_id": string(), "audio_url": url(),
                "duration": {"type": ["number", "string"], "description": "Seconds of silence, 1 to 100"},
            })),
            "background": object(&["type"], json!({
                "type": {"enum": ["color", "image"]},
                "value": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
                "image_asset_id": string(), "url": url(), "fit": {"enum": ["cover", "crop"]},
            })),
        }),
    );
    json!({
        "V2Error": object(&["error", "data"], json!({
            "error": object(&["code", "message"], json!({"code": string(), "message": string()})),
            "data": {"type": "null"},
        })),
        "V3Error": object(&["error"], json!({
            "error": object(&["code", "message", "param", "doc_url"], json!({
                "code": string(), "message": string(), "param": nullable(string()), "doc_url": string()})),
        })),
        "V1Error": object(&["code", "message", "data"], json!({
            "code": integer(), "message": string(), "data": {"type": "null"},
        })),
        "AvatarGroup": avatar_group,
        "Look": look,
        "Voice": voice,
        "VideoError": video_error,
        "VideoStatus": video_status,
        "WebhookEndpoint": endpoint,
        "Scene": scene,
    })
}

/// `POST /v1/asset` takes the file itself as the body.
fn upload_operation() -> Value {
    let ok = v1(object(
        &["id", "name", "file_type", "url"],
        json!({"id": string(), "name": string(), "file_type": {"enum": ["image", "audio", "video"]},
               "url": url(), "image_key": nullable(string())}),
    ));
    let mut upload = operation(
        1,
        "Upload a photo, recording or video as the raw request body",
        json!([query_parameter("name", false, string())]),
        None,
        ok,
        &[400, 413, 415],
    );
    let binary = json!({"schema": {"type": "string", "format": "binary"}});
    let types = ["image/png", "image/jpeg", "image/webp", "audio/mpeg", "audio/wav", "audio/mp4", "video/mp4"];
    let content: serde_json::Map<String, Value> = types.iter().map(|t| (t.to_string(), binary.clone())).collect();
    upload["requestBody"] = json!({"required": true, "content": content});
    upload
}

/// The whole document; `public_url` is the server address clients use.
pub(crate) fn build(public_url: &str) -> Value {
    let paths = json!({
        "/v1/asset": {"post": upload_operation()},
        "/v2/photo_avatar/avatar_group/create": {"post": operation(2, "Make a photo avatar group from an uploaded image",
            json!([]), Some(json_body(object(&["image_key"], json!({"name": string(), "image_key": string()})))),
            v2(object(&["id", "name", "image_url", "status", "group_type", "created_at"], json!({
                "id": string(), "name": string(), "image_url": url(), "status": string(), "group_type": string(),
                "created_at": integer()}))),
            &[400, 404])},
        "/v2/photo_avatar/train": {"post": operation(2, "Analyse the group's face (\"training\")",
            json!([]), Some(json_body(object(&["group_id"], json!({"group_id": string()})))),
            v2(object(&["flow_id"], json!({"flow_id": string()}))), &[400, 404])},
        "/v2/photo_avatar/train/status/{group_id}": {"get": operation(2, "Training status",
            json!([path_parameter("group_id")]), None,
            v2(object(&["status", "error_msg", "created_at", "updated_at"], json!({
                "status": {"enum": ["pending", "training", "ready", "failed"]}, "error_msg": nullable(string()),
                "faces_found": nullable(integer()),
                "face_outline": nullable(json!({"type": "array", "items": {"type": "array", "items": {"type": "number"},
                    "minItems": 2, "maxItems": 2},
                    "description": "The face found, as points in fractions of the photo (Mouthpiece's own field)"})),
                "created_at": integer(), "updated_at": integer()}))),
            &[404])},
        "/v2/avatar_group.list": {"get": operation(2, "The key's avatar groups", json!([]), None,
            v2(object(&["total_count", "avatar_group_list"], json!({
                "total_count": integer(), "avatar_group_list": array(reference("AvatarGroup"))}))), &[])},
        "/v2/avatar_group/{group_id}/avatars": {"get": operation(2, "A group's looks (a photo group has one)",
            json!([path_parameter("group_id")]), None,
            v2(object(&["avatar_list"], json!({"avatar_list": array(reference("Look"))}))), &[404])},
        "/v2/avatars": {"get": operation(2, "Talking photos, as avatars and as talking photos", json!([]), None,
            v2(object(&["avatars", "talking_photos"], json!({
                "avatars": array(object(&["avatar_id", "avatar_name"], json!({
                    "avatar_id": string(), "avatar_name": string(), "gender": string(),
                    "preview_image_url": string(), "preview_video_url": url(), "premium": {"type": "boolean"},
                    "type": string()}))),
                "talking_photos": array(object(&["talking_photo_id", "talking_photo_name"], json!({
                    "talking_photo_id": string(), "talking_photo_name": string(), "preview_image_url": string()}))),
            }))), &[])},
        "/v1/talking_photo.list": {"get": operation(1, "Talking photos", json!([]), None,
            v1(array(object(&["id", "image_url", "circle_image"], json!({
                "id": string(), "image_url": string(), "circle_image": string()})))), &[])},
        "/v1/talking_photo/{id}": {"delete": operation(1, "Delete a talking photo",
            json!([path_parameter("id")]), None, v1(json!({"type": "null"})), &[404])},
        "/v2/voices": {"get": operation(2, "Every voice", json!([]), None,
            v2(object(&["voices"], json!({"voices": array(reference("Voice"))}))), &[])},
        "/v2/video/av4/generate": {"post": operation(2, "Avatar IV: a video of an uploaded photo (image_key), no avatar first",
            json!([]), Some(json_body(object(&["image_key"], json!({
                "image_key": string(), "video_title": string(), "script": string(), "voice_id": string(),
                "audio_url": url(), "audio_asset_id": string(), "custom_motion_prompt": string(),
                "video_orientation": {"enum": ["landscape", "portrait", "square"]},
                "callback_id": string(), "callback_url": url()})))),
            v2(object(&["video_id"], json!({"video_id": string()}))), &[400, 404, 429])},
        "/v1/user/me": {"get": operation(1, "The API key as a user (its name is the username)", json!([]), None,
            v1(object(&["username"], json!({"username": string(), "email": nullable(string()),
                "first_name": nullable(string()), "last_name": nullable(string())}))), &[])},
        "/v2/photo_avatar/{id}": {"delete": operation(2, "Delete a photo avatar (its rig and idle clip)",
            json!([path_parameter("id")]), None,
            v2(object(&["id", "deleted"], json!({"id": string(), "deleted": {"const": true}}))), &[404])},
        "/v2/talking_photo/{id}": {"delete": operation(2, "Delete a talking photo (the same as a photo avatar)",
            json!([path_parameter("id")]), None,
            v2(object(&["id", "deleted"], json!({"id": string(), "deleted": {"const": true}}))), &[404])},
        "/v2/video/generate": {"post": operation(2, "Order a video of 1 to 50 scenes", json!([]),
            Some(json_body(object(&["video_inputs"], json!({
                "video_inputs": {"type": "array", "items": reference("Scene"), "minItems": 1, "maxItems": 50},
                "dimension": object(&["width", "height"], json!({
                    "width": {"type": "integer", "minimum": 128, "maximum": 4096},
                    "height": {"type": "integer", "minimum": 128, "maximum": 4096}})),
                "caption": {"type": ["boolean", "string"]}, "title": string(), "test": {"type": "boolean"},
                "callback_id": string(), "callback_url": url()})))),
            v2(object(&["video_id"], json!({"video_id": string(), "dimension": object(&["width", "height"],
                json!({"width": integer(), "height": integer()}))}))),
            &[400, 404, 429])},
        "/v1/video_status.get": {"get": operation(1, "A video's status, progress and files",
            json!([query_parameter("video_id", true, string())]), None, v1(reference("VideoStatus")), &[400, 404])},
        "/v1/video.list": {"get": operation(1, "The key's videos, newest first, a page at a time",
            json!([query_parameter("token", false, string()),
                   query_parameter("limit", false, json!({"type": "integer", "minimum": 1, "maximum": 100}))]),
            None,
            v1(object(&["videos", "token"], json!({
                "videos": array(object(&["video_id", "video_title", "status", "type", "created_at"], json!({
                    "video_id": string(), "video_title": string(), "status": string(), "type": string(),
                    "created_at": integer(), "thumbnail_url": nullable(url())}))),
                "token": nullable(string())}))),
            &[400])},
        "/v1/video.delete": {"delete": operation(1, "Delete a video and its files",
            json!([query_parameter("video_id", true, string())]), None, v1(json!({"type": "null"})), &[400, 404])},
        "/v2/user/remaining_quota": {"get": operation(2, "Seconds of video the key may still make", json!([]), None,
            v2(object(&["remaining_quota", "details"], json!({
                "remaining_quota": integer(),
                "details": object(&["api", "streaming_avatar", "streaming_avatar_instance_quota", "seat"], json!({
                    "api": integer(), "streaming_avatar": integer(), "streaming_avatar_instance_quota": integer(),
                    "seat": integer()}))}))), &[])},
        "/v1/webhook/endpoint.add": {"post": operation(1, "Register a webhook endpoint", json!([]),
            Some(json_body(object(&["url"], json!({"url": url(), "events": array(string())})))),
            v1(reference("WebhookEndpoint")), &[400])},
        "/v1/webhook/endpoint.list": {"get": operation(1, "The key's webhook endpoints", json!([]), None,
            v1(array(reference("WebhookEndpoint"))), &[])},
        "/v1/webhook/endpoint.delete": {"delete": operation(1, "Remove a webhook endpoint",
            json!([query_parameter("endpoint_id", true, string())]), None, v1(json!({"type": "null"})), &[400, 404])},
        "/v1/webhook/webhook.list": {"get": operation(1, "The events an endpoint can subscribe to", json!([]), None,
            v1(array(string())), &[])},
    });
    let mut paths = paths;
    let more = [v3::paths(), sessions::paths()];
    for (path, operations) in more.iter().filter_map(Value::as_object).flatten() {
        paths[path] = operations.clone();
    }
    let mut schemas = schemas();
    for (name, schema) in v3::schemas().as_object().into_iter().flatten() {
        schemas[name] = schema.clone();
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Mouthpiece",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "HeyGen's talking-photo API, self-hosted. Every call needs the X-Api-Key header \
                            (`mouthpiece keys create`).",
        },
        "servers": [{"url": public_url}],
        "security": [{"ApiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "SessionToken": {"type": "http", "scheme": "bearer",
                                 "description": "A live session's session_token from POST /v1/sessions/token"},
            },
            "schemas": schemas,
        },
    })
}
