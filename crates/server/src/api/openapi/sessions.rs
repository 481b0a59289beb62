//! The live-session part of the OpenAPI document, in LiveAvatar's
//! vocabulary: `code: 1000` on success, errors in the v2 shape. The token
//! call takes the API key; the others take the session token as a bearer
//! token. WHEP carries SDP, not JSON, and the control WebSocket's messages
//! are described in its operation.

use super::{array, integer, json_body, object, operation, path_parameter, reply, string, url};
use serde_json::{Value, json};

/// LiveAvatar's success: `{code: 1000, message, data}`.
fn live(data: Value) -> Value {
    object(&["code", "message", "data"], json!({"code": {"const": 1000}, "message": string(), "data": data}))
}

/// An operation called with the session token instead of the API key.
fn with_session_token(mut operation: Value) -> Value {
    operation["security"] = json!([{"SessionToken": []}]);
    operation["responses"]["401"]["description"] = json!("Missing, wrong or expired session token");
    operation
}

fn session_id_body(extra: Value) -> Value {
    let mut properties = json!({"session_id": string()});
    for (name, schema) in extra.as_object().into_iter().flatten() {
        properties[name] = schema.clone();
    }
    json_body(object(&["session_id"], properties))
}

pub(super) fn paths() -> Value {
    let session_id = live(object(&["session_id"], json!({"session_id": string()})));
    let mut whep = with_session_token(operation(
        2,
        "Watch the session: a WHEP (RFC 9725) SDP offer in, 201 with the answer and a Location to DELETE out",
        json!([path_parameter("id")]),
        Some(json!({"required": true, "content": {"application/sdp": {"schema": string()}}})),
        json!({}),
        &[400, 404, 415],
    ));
    whep["responses"] = json!({
        "201": {"description": "The SDP answer; H.264 video at 25 fps and Opus sound",
                "content": {"application/sdp": {"schema": string()}}},
        "400": whep["responses"]["400"].clone(),
        "401": whep["responses"]["401"].clone(),
        "404": whep["responses"]["404"].clone(),
        "415": whep["responses"]["415"].clone(),
    });
    let mut socket = with_session_token(operation(
        2,
        "The control WebSocket (token also as ?session_token=). The app sends avatar.speak_text {text, event_id}, \
         agent.speak {audio: base64 PCM s16le mono 24 kHz, event_id}, agent.speak_end {event_id}, avatar.interrupt \
         and session.keep_alive; the server sends session.state_updated {state}, avatar.speak_started {event_id}, \
         avatar.speak_ended {event_id} and error {code, message}",
        json!([path_parameter("id")]),
        None,
        json!({}),
        &[400, 404],
    ));
    socket["responses"]["101"] = json!({"description": "Switching to the WebSocket protocol"});
    let _ = socket["responses"].as_object_mut().map(|responses| responses.remove("200"));
    json!({
        "/v1/sessions/token": {"post": operation(2, "Ask for a live session of one of the key's avatars",
            json!([]),
            Some(json_body(object(&["avatar_id"], json!({
                "avatar_id": string(), "mode": {"enum": ["FULL", "LITE"]}, "voice_id": string(),
                "video_quality": {"enum": ["low", "medium", "high"]}})))),
            live(object(&["session_id", "session_token"], json!({"session_id": string(), "session_token": string()}))),
            &[400, 404])},
        "/v1/sessions/start": {"post": with_session_token(operation(2,
            "Start the session on the machine with the most free room; its media and control URLs",
            json!([]), Some(session_id_body(json!({}))),
            live(object(&["session_id", "whep_url", "ws_url", "max_session_duration"], json!({
                "session_id": string(), "whep_url": url(), "ws_url": url(), "max_session_duration": integer()}))),
            &[400, 429, 503]))},
        "/v1/sessions/keep-alive": {"post": with_session_token(operation(2,
            "Keep the session alive without a viewer", json!([]), Some(session_id_body(json!({}))),
            session_id.clone(), &[400, 404, 503]))},
        "/v1/sessions/stop": {"post": with_session_token(operation(2, "End the session",
            json!([]), Some(session_id_body(json!({"reason": string()}))), session_id, &[400, 503]))},
        "/v1/sessions": {"get": operation(2, "The key's live sessions that have not ended", json!([]), None,
            live(object(&["sessions"], json!({"sessions": array(object(
                &["session_id", "avatar_id", "mode", "voice_id", "video_quality", "status", "viewers", "created_at"],
                json!({"session_id": string(), "avatar_id": string(), "mode": {"enum": ["FULL", "LITE"]},
                       "voice_id": string(), "video_quality": {"enum": ["low", "medium", "high"]},
                       "status": {"enum": ["waiting", "connecting", "connected"]},
                       "viewers": integer(), "created_at": integer()})))}))),
            &[])},
        "/v1/sessions/{id}/whep": {"post": whep},
        "/v1/sessions/{id}/whep/{viewer}": {"delete": {
            "summary": "Leave (the Location of the WHEP answer)",
            "security": [{"SessionToken": []}],
            "parameters": [path_parameter("id"), path_parameter("viewer")],
            "responses": {"200": {"description": "Left"},
                          "404": reply("No such viewer in this session", super::reference("V2Error"))},
        }},
        "/v1/sessions/{id}/ws": {"get": socket},
    })
}
