//! Live sessions in LiveAvatar's vocabulary: a key asks for a session
//! token, the token starts the session, the video goes to any number of
//! viewers over WHEP (RFC 9725), and the app steers the face over a
//! WebSocket. Replies carry `code: 1000` on success; errors come in the
//! v2 shape. Where a session runs and how front ends reach it is
//! `crate::live`; the media and the face are the `live` crate's; this
//! module only reads the wire formats.

use crate::App;
use crate::api::{V2Json, required};
use crate::auth::Tenant;
use crate::error::{ApiError, V2Error};
use crate::live::{self as sessions, Steer};
use axum::Json;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use live::{LiveError, Mode, Quality, Session, SessionEvent};
use serde::Deserialize;
use serde_json::{Value, json};

/// LiveAvatar's success reply.
fn success(data: Value) -> Json<Value> {
    Json(json!({"code": 1000, "message": "success", "data": data}))
}

/// The session token: `Authorization: Bearer <token>`, or for the
/// WebSocket (browsers cannot set its headers) `?session_token=`.
pub(crate) struct SessionToken(String);

impl<S: Send + Sync> FromRequestParts<S> for SessionToken {
    type Rejection = V2Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("Bearer "))
            .map(|v| v.trim().to_string());
        let query = parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("session_token=")).map(|v| v.to_string()));
        bearer.or(query).filter(|t| !t.is_empty()).map(SessionToken).ok_or(V2Error(ApiError::InvalidSessionToken))
    }
}

#[derive(Deserialize)]
pub(crate) struct TokenRequest {
    avatar_id: Option<String>,
    mode: Option<String>,
    voice_id: Option<String>,
    video_quality: Option<String>,
}

/// `POST /v1/sessions/token`: a session for one of the key's avatars.
pub(crate) async fn token(
    State(app): State<App>,
    tenant: Tenant,
    V2Json(body): V2Json<TokenRequest>,
) -> Result<Json<Value>, V2Error> {
    let avatar_id = required("avatar_id", body.avatar_id)?;
    let mode = body.mode.as_deref().unwrap_or("FULL");
    let mode = Mode::parse(mode).ok_or_else(|| {
        ApiError::invalid(
            "mode",
            format!("'{mode}' is not a mode; use FULL (our voice speaks text) or LITE (you send audio)"),
        )
    })?;
    let quality = body.video_quality.as_deref().unwrap_or("medium");
    let quality = Quality::parse(quality).ok_or_else(|| {
        ApiError::invalid("video_quality", format!("'{quality}' is not a quality; use low, medium or high"))
    })?;
    let voice_id = body.voice_id.filter(|v| !v.is_empty()).unwrap_or_else(|| speech::DEFAULT_VOICE_ID.to_string());
    if speech::find_voice(&voice_id).is_none() {
        return Err(ApiError::invalid("voice_id", format!("no voice '{voice_id}'; GET /v2/voices lists them")).into());
    }
    let group = app
        .db
        .avatar_group(Some(&tenant.0), &avatar_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("avatar '{avatar_id}' not found")))?;
    if group.status == "failed" {
        let reason = group.error_msg.unwrap_or_default();
        return Err(ApiError::invalid("avatar_id", format!("avatar '{avatar_id}' cannot be used: {reason}")).into());
    }
    let (session_id, session_token) = sessions::ask(&app, tenant.0, group.id, mode, voice_id, quality).await?;
    Ok(success(json!({"session_id": session_id, "session_token": session_token})))
}

#[derive(Deserialize)]
pub(crate) struct SessionRequest {
    session_id: Option<String>,
    /// Why the app stops the session, for the log.
    reason: Option<String>,
}

/// `POST /v1/sessions/start`: the session's face comes alive on the
/// machine with the most free room.
pub(crate) async fn start(
    State(app): State<App>,
    token: SessionToken,
    V2Json(body): V2Json<SessionRequest>,
) -> Result<Json<Value>, V2Error> {
    let id = required("session_id", body.session_id)?;
    let row = sessions::authorised(&app, &id, &token.0).await?;
    let row = sessions::start(&app, row, &token.0).await?;
    let base = row.host_url.unwrap_or_else(|| app.public_url.clone());
    let ws_base = base.replacen("http", "ws", 1);
    Ok(success(json!({
        "session_id": id,
        "whep_url": format!("{base}/v1/sessions/{id}/whep"),
        "ws_url": format!("{ws_base}/v1/sessions/{id}/ws"),
        "max_session_duration": row.max_seconds.unwrap_or(app.live.max_seconds()),
    })))
}

/// `POST /v1/sessions/{id}/launch`: a front end asks this machine to run a
/// session it placed here (not for apps; `start` calls it).
pub(crate) async fn launch(
    State(app): State<App>,
    Path(id): Path<String>,
    token: SessionToken,
) -> Result<Json<Value>, V2Error> {
    let row = sessions::authorised(&app, &id, &token.0).await?;
    let max_seconds = sessions::launch_here(&app, &row).await?;
    Ok(success(json!({"session_id": id, "max_session_duration": max_seconds})))
}

/// Whether another process of the deployment passed this call on.
fn forwarded(headers: &HeaderMap) -> bool {
    headers.contains_key(sessions::FORWARDED)
}

/// `POST /v1/sessions/keep-alive`.
pub(crate) async fn keep_alive(
    State(app): State<App>,
    token: SessionToken,
    headers: HeaderMap,
    V2Json(body): V2Json<SessionRequest>,
) -> Result<Json<Value>, V2Error> {
    let id = required("session_id", body.session_id)?;
    let row = sessions::authorised(&app, &id, &token.0).await?;
    sessions::steer(&app, &row, &token.0, Steer::KeepAlive, "", forwarded(&headers)).await?;
    Ok(success(json!({"session_id": id})))
}

/// `POST /v1/sessions/stop`.
pub(crate) async fn stop(
    State(app): State<App>,
    token: SessionToken,
    headers: HeaderMap,
    V2Json(body): V2Json<SessionRequest>,
) -> Result<Json<Value>, V2Error> {
    let id = required("session_id", body.session_id)?;
    let row = sessions::authorised(&app, &id, &token.0).await?;
    let reason = body.reason.filter(|r| !r.is_empty()).unwrap_or_else(|| "stopped by the app".into());
    tracing::info!(session = id, reason, "live session stopped by the app");
    sessions::steer(&app, &row, &token.0, Steer::Stop, &reason, forwarded(&headers)).await?;
    Ok(success(json!({"session_id": id})))
}

/// `GET /v1/sessions`: the key's sessions that have not ended.
pub(crate) async fn list(State(app): State<App>, tenant: Tenant) -> Result<Json<Value>, V2Error> {
    let sessions: Vec<Value> = sessions::of_key(&app, &tenant.0)
        .await?
        .into_iter()
        .map(|row| {
            json!({
                "session_id": row.id,
                "avatar_id": row.avatar_id,
                "mode": row.mode,
                "voice_id": row.voice_id,
                "video_quality": row.video_quality,
                "status": row.state,
                "viewers": row.viewers,
                "created_at": row.created_at,
            })
        })
        .collect();
    Ok(success(json!({"sessions": sessions})))
}

/// `POST /v1/sessions/{id}/whep`: a viewer's SDP offer in, the answer out.
pub(crate) async fn whep_offer(
    State(app): State<App>,
    Path(id): Path<String>,
    token: SessionToken,
    headers: HeaderMap,
    offer: String,
) -> Result<Response, V2Error> {
    let session = sessions::hosted_session(&app, &id, &token.0).await?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/sdp") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "a WHEP offer is sent as Content-Type: application/sdp, not '{content_type}'"
        ))
        .into());
    }
    let (viewer, answer) = session.add_viewer(&offer).map_err(|error| match error {
        LiveError::BadOffer(message) => ApiError::bad_request(format!("malformed SDP offer: {message}")),
        LiveError::Closed => ApiError::not_found("the session has ended"),
        other => ApiError::internal(other),
    })?;
    let location = format!("/v1/sessions/{id}/whep/{viewer}");
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/sdp".to_string()), (header::LOCATION, location)],
        answer,
    )
        .into_response())
}

/// `DELETE /v1/sessions/{id}/whep/{viewer}`: the viewer leaves.
pub(crate) async fn whep_leave(
    State(app): State<App>,
    Path((id, viewer)): Path<(String, String)>,
    token: SessionToken,
) -> Result<StatusCode, V2Error> {
    let session = sessions::hosted_session(&app, &id, &token.0).await?;
    if session.remove_viewer(&viewer) {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::not_found(format!("no viewer '{viewer}' in this session")).into())
    }
}

/// `GET /v1/sessions/{id}/ws`: the control WebSocket.
pub(crate) async fn socket(
    State(app): State<App>,
    Path(id): Path<String>,
    token: SessionToken,
    upgrade: WebSocketUpgrade,
) -> Result<Response, V2Error> {
    let session = sessions::hosted_session(&app, &id, &token.0).await?;
    Ok(upgrade.on_upgrade(move |socket| control(socket, session)))
}

/// Relays the session's events to the app and the app's messages to the session.
async fn control(mut socket: WebSocket, session: Session) {
    let mut events = session.subscribe();
    let state = SessionEvent::State(session.state());
    if socket.send(Message::Text(event_json(&state).to_string().into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => {
                let event = match event {
                    Ok(event) => event,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                let closed = event == SessionEvent::State(live::SessionState::Closed);
                if socket.send(Message::Text(event_json(&event).to_string().into())).await.is_err() || closed {
                    break;
                }
            }
            message = socket.recv() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                if let Err((code, message)) = obey(&session, &text) {
                    let error = json!({"type": "error", "code": code, "message": message});
                    if socket.send(Message::Text(error.to_string().into())).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

fn event_json(event: &SessionEvent) -> Value {
    match event {
        SessionEvent::State(state) => json!({"type": "session.state_updated", "state": state.as_str()}),
        SessionEvent::SpeakStarted(id) => json!({"type": "avatar.speak_started", "event_id": id}),
        SessionEvent::SpeakEnded(id) => json!({"type": "avatar.speak_ended", "event_id": id}),
        SessionEvent::Error { code, message } => json!({"type": "error", "code": code, "message": message}),
    }
}

/// Carries out one message from the app; a refusal is an error event's code and message.
fn obey(session: &Session, text: &str) -> Result<(), (&'static str, String)> {
    let message: Value =
        serde_json::from_str(text).map_err(|e| ("invalid_message", format!("messages are JSON objects: {e}")))?;
    let field = |name: &str| message.get(name).and_then(Value::as_str);
    let kind = field("type").ok_or(("invalid_message", "a message needs a \"type\"".to_string()))?;
    let event_id = field("event_id").map(str::to_string).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let refused = |error: LiveError| match error {
        LiveError::Closed => ("session_closed", error.to_string()),
        LiveError::WrongMode(_) => ("wrong_mode", error.to_string()),
        LiveError::BadAudio(_) => ("invalid_audio", error.to_string()),
        _ => ("invalid_message", error.to_string()),
    };
    match kind {
        "avatar.speak_text" => {
            let text = field("text").ok_or(("invalid_message", "avatar.speak_text needs \"text\"".to_string()))?;
            session.speak_text(text, &event_id).map_err(refused)
        }
        "agent.speak" => {
            let audio =
                field("audio").ok_or(("invalid_audio", "agent.speak needs \"audio\": base64 PCM".to_string()))?;
            let pcm = base64::engine::general_purpose::STANDARD
                .decode(audio)
                .map_err(|e| ("invalid_audio", format!("\"audio\" is not base64: {e}")))?;
            session.speak_audio(&pcm, &event_id).map_err(refused)
        }
        "agent.speak_end" => session.speak_end(&event_id).map_err(refused),
        "avatar.interrupt" => session.interrupt().map_err(refused),
        "session.keep_alive" => {
            session.keep_alive();
            Ok(())
        }
        other => Err((
            "unknown_message_type",
            format!(
                "unknown message type '{other}'; send avatar.speak_text, agent.speak, agent.speak_end, avatar.interrupt or session.keep_alive"
            ),
        )),
    }
}
