//! `POST /v2/video/generate` and `GET /v1/video_status.get`: queueing a
//! talking-photo video and following it to its files.

use super::V2Json;
use crate::App;
use crate::auth::Tenant;
use crate::db::{Video, new_id, now};
use crate::error::{ApiError, V1Error, V2Error};
use crate::worker::{Look, SceneOrder, VIDEO_JOB, VideoOrder};
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// HeyGen's default output size.
const DEFAULT_DIMENSION: (u32, u32) = (1280, 720);
const MAX_SCENES: usize = 50;

#[derive(Deserialize)]
pub(crate) struct GenerateRequest {
    video_inputs: Vec<VideoInput>,
    dimension: Option<Dimension>,
    callback_id: Option<String>,
    callback_url: Option<String>,
    title: Option<String>,
    /// HeyGen's clients send a boolean or "true"/"false".
    caption: Option<Value>,
}

#[derive(Deserialize)]
struct VideoInput {
    character: Character,
    voice: VoiceInput,
    background: Option<Background>,
}

#[derive(Deserialize)]
struct Character {
    #[serde(rename = "type")]
    kind: String,
    talking_photo_id: Option<String>,
    avatar_id: Option<String>,
    scale: Option<f32>,
    offset: Option<Offset>,
    talking_photo_style: Option<String>,
    talking_style: Option<String>,
    expression: Option<String>,
    matting: Option<bool>,
}

#[derive(Deserialize)]
struct Offset {
    #[serde(default)]
    x: f32,
    #[serde(default)]
    y: f32,
}

#[derive(Deserialize)]
struct VoiceInput {
    #[serde(rename = "type")]
    kind: String,
    input_text: Option<String>,
    voice_id: Option<String>,
    /// HeyGen's clients send these as numbers or as numeric strings.
    speed: Option<Value>,
    pitch: Option<Value>,
    emotion: Option<String>,
    duration: Option<Value>,
    audio_asset_id: Option<String>,
    audio_url: Option<String>,
}

/// HeyGen's limits on a silence scene, in seconds.
const SILENCE_SECONDS: std::ops::RangeInclusive<f32> = 1.0..=100.0;

/// A number given as a JSON number or a numeric string.
fn number(field: &str, value: &Option<Value>) -> Result<Option<f32>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|v| v as f32)),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f32>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{field} '{s}' is not a number"))),
        Some(other) => Err(ApiError::bad_request(format!("{field} must be a number, not {other}"))),
    }
}

#[derive(Deserialize)]
struct Background {
    #[serde(rename = "type")]
    kind: String,
    value: Option<String>,
    image_asset_id: Option<String>,
    url: Option<String>,
    fit: Option<String>,
}

#[derive(Deserialize)]
struct Dimension {
    width: u32,
    height: u32,
}

pub(crate) async fn generate(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    V2Json(request): V2Json<GenerateRequest>,
) -> Result<Json<Value>, V2Error> {
    let order = validate(&app, &key_id, &request).await?;
    if let Some(key) = app.db.key(&key_id).await? {
        if let Some(quota) = key.quota_seconds {
            if key.used_seconds >= quota as f64 {
                return Err(ApiError::QuotaExceeded(format!(
                    "this API key has used its quota: {:.0} of {quota} seconds of video; ask the operator for more",
                    key.used_seconds
                ))
                .into());
            }
        }
    }
    let id = new_id();
    let stored = serde_json::to_string(&order).map_err(ApiError::internal)?;
    let callback_url = request.callback_url.as_deref().filter(|u| !u.is_empty());
    if let Some(url) = callback_url {
        crate::outbound::check(url, app.allow_private_urls)
            .await
            .map_err(|e| ApiError::bad_request(format!("callback_url: {e}")))?;
    }
    let callback = (request.callback_id.as_deref(), callback_url);
    app.db.insert_video(&id, &key_id, &stored, callback, request.title.as_deref()).await?;
    app.db.enqueue(VIDEO_JOB, &id).await?;
    app.jobs_queued.notify_one();
    // The size actually rendered: H.264 needs even sides, so odd ones are rounded down.
    Ok(Json(
        json!({"error": null, "data": {"video_id": id, "dimension": {"width": order.width, "height": order.height}}}),
    ))
}

/// Checks everything a client can get wrong before anything is queued.
async fn validate(app: &App, key_id: &str, request: &GenerateRequest) -> Result<VideoOrder, ApiError> {
    let count = request.video_inputs.len();
    if count == 0 || count > MAX_SCENES {
        return Err(ApiError::bad_request(format!("video_inputs has {count} scenes; give 1 to {MAX_SCENES}")));
    }
    let (width, height) = request.dimension.as_ref().map_or(DEFAULT_DIMENSION, |d| (d.width, d.height));
    let spec = pipeline::VideoSpec::new(width, height, [0, 0, 0]).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let caption = match &request.caption {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(other) => return Err(ApiError::bad_request(format!("caption must be true or false, not {other}"))),
    };
    let mut scenes = Vec::with_capacity(count);
    for (index, scene) in request.video_inputs.iter().enumerate() {
        let checked = validate_scene(app, key_id, scene).await;
        // With several scenes, say which one is wrong.
        scenes.push(if count > 1 {
            checked.map_err(|e| e.prefixed(&format!("video_inputs[{index}]: ")))?
        } else {
            checked?
        });
    }
    Ok(VideoOrder { scenes, width: spec.width, height: spec.height, caption })
}

/// Checks one entry of `video_inputs`.
async fn validate_scene(app: &App, key_id: &str, scene: &VideoInput) -> Result<SceneOrder, ApiError> {
    let talking_photo_id = match scene.character.kind.as_str() {
        "talking_photo" => scene.character.talking_photo_id.as_deref(),
        "avatar" => scene.character.avatar_id.as_deref(),
        other => {
            return Err(ApiError::bad_request(format!(
                "character.type '{other}' is not supported; use \"talking_photo\" with a talking_photo_id"
            )));
        }
    }
    .filter(|id| !id.is_empty())
    .ok_or_else(|| ApiError::bad_request("character.talking_photo_id is required"))?;
    let group = app
        .db
        .avatar_group(Some(key_id), talking_photo_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("talking photo '{talking_photo_id}' not found")))?;
    if group.status == "failed" {
        return Err(ApiError::bad_request(format!(
            "talking photo '{talking_photo_id}' cannot be used: {}",
            group.error_msg.unwrap_or_default()
        )));
    }
    let voice = &scene.voice;
    let options = speech::SpeechOptions {
        speed: number("voice.speed", &voice.speed)?.unwrap_or(1.0),
        pitch: number("voice.pitch", &voice.pitch)?.unwrap_or(0.0),
        emotion: voice
            .emotion
            .as_deref()
            .filter(|name| !name.is_empty())
            .map(speech::Emotion::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(format!("voice.{e}")))?,
    };
    options.validate().map_err(|e| ApiError::bad_request(format!("voice: {e}")))?;
    let voice_id = voice.voice_id.clone().unwrap_or_else(|| speech::DEFAULT_VOICE_ID.to_string());
    let mut audio_asset = None;
    let (text, silence) = match voice.kind.as_str() {
        "text" => {
            let text = voice.input_text.clone().unwrap_or_default();
            speech::validate_text(&text).map_err(|e| ApiError::bad_request(format!("voice.input_text: {e}")))?;
            let Some(found) = speech::find_voice(&voice_id) else {
                return Err(ApiError::bad_request(speech::SpeechError::UnknownVoice(voice_id).to_string()));
            };
            found.check_options(&options).map_err(|e| ApiError::bad_request(format!("voice.emotion: {e}")))?;
            (text, None)
        }
        "silence" => {
            let seconds = number("voice.duration", &voice.duration)?.unwrap_or(1.0);
            if !SILENCE_SECONDS.contains(&seconds) {
                return Err(ApiError::bad_request(format!(
                    "voice.duration is {seconds}; a silence lasts {} to {} seconds",
                    SILENCE_SECONDS.start(),
                    SILENCE_SECONDS.end()
                )));
            }
            (String::new(), Some(seconds))
        }
        "audio" => {
            let named = super::assets::Named {
                id: voice.audio_asset_id.as_deref(),
                url: voice.audio_url.as_deref(),
                id_field: "voice.audio_asset_id",
                url_field: "voice.audio_url",
            };
            let asset = super::assets::named_asset(app, key_id, named, "audio").await?;
            audio_asset = Some(asset.id);
            (String::new(), None)
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "voice.type '{other}' is not one of \"text\", \"audio\", \"silence\""
            )));
        }
    };
    let mut look = character_look(&scene.character)?;
    let background = match &scene.background {
        None => [255, 255, 255],
        Some(b) if b.kind == "color" => pipeline::parse_colour(b.value.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("background.value: {e}")))?,
        Some(b) if b.kind == "image" => {
            look.background_asset = Some(background_asset(app, key_id, b).await?);
            [255, 255, 255]
        }
        Some(b) => {
            return Err(ApiError::bad_request(format!(
                "background.type '{}' is not supported; use \"color\" (value \"#rrggbb\") or \"image\" (image_asset_id)",
                b.kind
            )));
        }
    };
    Ok(SceneOrder {
        talking_photo_id: group.id,
        text,
        voice_id,
        speed: options.speed,
        pitch: options.pitch,
        emotion: options.emotion,
        silence,
        audio_asset,
        background,
        look,
    })
}

/// HeyGen's talking-photo options, checked.
fn character_look(character: &Character) -> Result<Look, ApiError> {
    let scale = character.scale.unwrap_or(1.0);
    if !(scale > 0.0 && scale <= 2.0) {
        return Err(ApiError::bad_request(format!("character.scale is {scale}; give a number above 0 and at most 2")));
    }
    let offset = character.offset.as_ref().map_or([0.0, 0.0], |o| [o.x, o.y]);
    if offset.iter().any(|v| !(-1.0..=1.0).contains(v)) {
        return Err(ApiError::bad_request("character.offset x and y are fractions of the frame, from -1 to 1"));
    }
    let frame =
        one_of("character.talking_photo_style", character.talking_photo_style.as_deref(), &["square", "circle"])?
            .unwrap_or("full");
    let expressive = one_of("character.talking_style", character.talking_style.as_deref(), &["stable", "expressive"])?
        == Some("expressive");
    let happy =
        one_of("character.expression", character.expression.as_deref(), &["default", "happy"])? == Some("happy");
    Ok(Look {
        scale,
        offset,
        frame: frame.into(),
        expressive,
        happy,
        matting: character.matting.unwrap_or(false),
        background_asset: None,
    })
}

/// An optional option that must be one of `allowed` when given.
fn one_of<'a>(field: &str, value: Option<&'a str>, allowed: &[&str]) -> Result<Option<&'a str>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v)),
        Some(other) => {
            let choices: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
            Err(ApiError::bad_request(format!("{field} '{other}' is not one of {}", choices.join(", "))))
        }
    }
}

/// The image behind an image background: an upload of this tenant's, or
/// fetched from `background.url` and kept as one.
async fn background_asset(app: &App, key_id: &str, background: &Background) -> Result<String, ApiError> {
    if !matches!(background.fit.as_deref(), None | Some("cover") | Some("crop")) {
        return Err(ApiError::bad_request("background.fit: only \"cover\" is supported (the image fills the frame)"));
    }
    let named = super::assets::Named {
        id: background.image_asset_id.as_deref(),
        url: background.url.as_deref(),
        id_field: "background.image_asset_id",
        url_field: "background.url",
    };
    let asset = super::assets::named_asset(app, key_id, named, "image").await?;
    Ok(asset.id)
}

/// `?video_id=` of the status and delete calls.
#[derive(Deserialize)]
pub(crate) struct VideoQuery {
    video_id: Option<String>,
}

pub(crate) async fn status(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(query): Query<VideoQuery>,
) -> Result<Json<Value>, V1Error> {
    let video_id = super::required("video_id", query.video_id)?;
    let video = app
        .db
        .video(Some(&key_id), &video_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("video '{video_id}' not found")))?;
    Ok(Json(json!({"code": 100, "message": "Success", "data": status_data(&app, &video).await})))
}

/// Where a finished video's files are: the video, its thumbnail, GIF,
/// captions (SRT) and the copy with captions drawn in; none until it is done.
pub(crate) struct FileUrls {
    pub video: Option<String>,
    pub thumbnail: Option<String>,
    pub gif: Option<String>,
    pub captions: Option<String>,
    pub captioned_video: Option<String>,
}

pub(crate) async fn file_urls(app: &App, video: &Video) -> FileUrls {
    let url = async |file: &Option<String>| match file {
        Some(file) if video.status == "completed" => Some(app.store.url(&app.public_url, file).await),
        _ => None,
    };
    FileUrls {
        video: url(&video.video_file).await,
        thumbnail: url(&video.thumbnail_file).await,
        gif: url(&video.gif_file).await,
        captions: url(&video.caption_file).await,
        captioned_video: url(&video.captioned_video_file).await,
    }
}

async fn status_data(app: &App, video: &Video) -> Value {
    let urls = file_urls(app, video).await;
    let error = (video.status == "failed").then(|| {
        json!({
            "code": video.error_code.unwrap_or(400_140),
            "message": video.error_message.clone().unwrap_or_default(),
            "detail": video.error_message.clone().unwrap_or_default(),
        })
    });
    // Estimated seconds left, from the pace so far (extra field; strict clients ignore it).
    let eta = match (video.status.as_str(), video.started_at) {
        ("processing", Some(started)) if video.progress > 0.02 => {
            let elapsed = (now() - started).max(0) as f64;
            Some((elapsed / video.progress * (1.0 - video.progress)).round())
        }
        _ => None,
    };
    json!({
        "id": video.id,
        "status": video.status,
        "video_url": urls.video,
        "thumbnail_url": urls.thumbnail,
        "gif_url": urls.gif,
        "caption_url": urls.captions,
        "video_url_caption": urls.captioned_video,
        // A number always (strict clients check the type); 0 until the video exists.
        "duration": video.duration.unwrap_or(0.0),
        "created_at": video.created_at,
        "callback_id": video.callback_id,
        "error": error,
        "progress": (video.progress * 100.0).round(),
        "eta_seconds": eta,
    })
}

/// Videos a page of `video.list` holds unless the client asks otherwise.
const DEFAULT_PAGE: i64 = 100;

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<i64>,
    token: Option<String>,
}

/// `GET /v1/video.list`: the tenant's videos, newest first, a page at a
/// time; `token` continues after the previous page.
pub(crate) async fn list(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, V1Error> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=DEFAULT_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit is {limit}; give 1 to {DEFAULT_PAGE}")).into());
    }
    let (shown, token) = videos_page(&app, &key_id, query.token.as_deref(), None, limit).await?;
    let mut videos = Vec::with_capacity(shown.len());
    for v in &shown {
        let thumbnail = match &v.thumbnail_file {
            Some(file) if v.status == "completed" => Some(app.store.url(&app.public_url, file).await),
            _ => None,
        };
        videos.push(json!({
            "video_id": v.id,
            "video_title": v.title.clone().unwrap_or_default(),
            "status": v.status,
            "type": "GENERATED",
            "created_at": v.created_at,
            "thumbnail_url": thumbnail,
        }));
    }
    Ok(Json(json!({"code": 100, "message": "Success", "data": {"videos": videos, "token": token}})))
}

/// A page of the tenant's videos, newest first, after `token` (the last
/// page's, "<created_at>-<id>" of its last video), with the token of the
/// next page if there is one.
pub(crate) async fn videos_page(
    app: &App,
    key_id: &str,
    token: Option<&str>,
    title: Option<&str>,
    limit: i64,
) -> Result<(Vec<Video>, Option<String>), ApiError> {
    let after = match token.filter(|t| !t.is_empty()) {
        None => None,
        Some(token) => {
            let parsed =
                token.split_once('-').and_then(|(at, id)| at.parse::<i64>().ok().map(|at| (at, id.to_string())));
            Some(parsed.ok_or_else(|| ApiError::invalid("token", "not a token this server gave out"))?)
        }
    };
    let mut page = app.db.videos_page(key_id, after, title, limit + 1).await?;
    let more = page.len() as i64 > limit;
    page.truncate(limit as usize);
    let token = if more { page.last().map(|v| format!("{}-{}", v.created_at, v.id)) } else { None };
    Ok((page, token))
}

/// Removes a tenant's video and its files; `None` if it has no such video.
pub(crate) async fn delete_video(app: &App, key_id: &str, video_id: &str) -> Result<Option<Video>, ApiError> {
    let Some(video) = app.db.delete_video(key_id, video_id).await? else {
        return Ok(None);
    };
    let files =
        [&video.video_file, &video.thumbnail_file, &video.gif_file, &video.caption_file, &video.captioned_video_file];
    for file in files.into_iter().flatten() {
        if let Err(error) = app.store.delete(file).await {
            tracing::warn!(%error, file, "cannot remove a file of a deleted video");
        }
    }
    Ok(Some(video))
}

/// `DELETE /v1/video.delete?video_id=`: the video, its files and, if it
/// has not started, its job.
pub(crate) async fn delete(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(query): Query<VideoQuery>,
) -> Result<Json<Value>, V1Error> {
    let video_id = super::required("video_id", query.video_id)?;
    delete_video(&app, &key_id, &video_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("video '{video_id}' not found")))?;
    Ok(Json(json!({"code": 100, "message": "Success", "data": null})))
}

/// Reported as the remaining quota of a key without a limit.
const UNLIMITED: i64 = i32::MAX as i64;

/// `GET /v2/user/remaining_quota`: seconds of video the key may still make.
pub(crate) async fn remaining_quota(State(app): State<App>, Tenant(key_id): Tenant) -> Result<Json<Value>, V2Error> {
    let key = app.db.key(&key_id).await?.ok_or(ApiError::Unauthorized)?;
    let remaining = key.quota_seconds.map_or(UNLIMITED, |q| (q as f64 - key.used_seconds).max(0.0).floor() as i64);
    Ok(Json(json!({
        "error": null,
        "data": {
            "remaining_quota": remaining,
            "details": {"api": remaining, "streaming_avatar": 0, "streaming_avatar_instance_quota": 0, "seat": 1},
        }
    })))
}
