//! `POST /v2/video/generate` and `GET /v1/video_status.get`: queueing a
//! talking-photo video and following it to its files.

use super::V2Json;
use crate::App;
use crate::auth::Tenant;
use crate::db::{Video, now};
use crate::error::{ApiError, V1Error, V2Error};
use crate::orders::{self, BackgroundRequest, Field, LookRequest, OrderRequest, SceneRequest, Speaker, SpeechRequest};
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// HeyGen's default output size.
const DEFAULT_DIMENSION: (u32, u32) = (1280, 720);

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

/// A number given as a JSON number or a numeric string.
fn number(field: &str, value: &Option<Value>) -> Result<Option<f32>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|v| v as f32)),
        Some(Value::String(s)) => {
            s.trim().parse::<f32>().map(Some).map_err(|_| ApiError::invalid(field, format!("'{s}' is not a number")))
        }
        Some(other) => Err(ApiError::invalid(field, format!("must be a number, not {other}"))),
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

/// What v2 calls each field of an order.
fn v2_field(field: Field) -> &'static str {
    match field {
        Field::Scenes => "video_inputs",
        Field::Avatar => "character.talking_photo_id",
        Field::Script => "voice.input_text",
        Field::VoiceId => "voice.voice_id",
        Field::Speed => "voice.speed",
        Field::Pitch => "voice.pitch",
        Field::Emotion => "voice.emotion",
        Field::SilenceDuration => "voice.duration",
        Field::AudioAsset => "voice.audio_asset_id",
        Field::AudioUrl => "voice.audio_url",
        Field::BackgroundColour => "background.value",
        Field::BackgroundAsset => "background.image_asset_id",
        Field::BackgroundUrl => "background.url",
        Field::BackgroundFit => "background.fit",
        Field::Scale => "character.scale",
        Field::Offset => "character.offset",
        Field::Frame => "character.talking_photo_style",
        Field::Style => "character.talking_style",
        Field::Expression => "character.expression",
        Field::CallbackUrl => "callback_url",
    }
}

pub(crate) async fn generate(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    V2Json(request): V2Json<GenerateRequest>,
) -> Result<Json<Value>, V2Error> {
    let order = translate(&request)?;
    let placed = orders::place(&app, &key_id, order).await?;
    // The size actually rendered: H.264 needs even sides, so odd ones are rounded down.
    Ok(Json(json!({"error": null, "data": {
        "video_id": placed.video_id,
        "dimension": {"width": placed.width, "height": placed.height},
    }})))
}

/// With several scenes, v2's messages say which one is wrong.
fn v2_scene(index: usize, count: usize) -> Option<String> {
    (count > 1).then(|| format!("video_inputs[{index}]"))
}

/// A v2 order in the domain's terms; only v2's own wire format is checked here.
fn translate(request: &GenerateRequest) -> Result<OrderRequest<'_>, ApiError> {
    let (width, height) = request.dimension.as_ref().map_or(DEFAULT_DIMENSION, |d| (d.width, d.height));
    let caption = match &request.caption {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(other) => return Err(ApiError::invalid("caption", format!("must be true or false, not {other}"))),
    };
    let count = request.video_inputs.len();
    let mut scenes = Vec::with_capacity(count);
    for (index, scene) in request.video_inputs.iter().enumerate() {
        scenes.push(orders::about(translate_scene(scene), v2_scene(index, count))?);
    }
    Ok(OrderRequest {
        scenes,
        width,
        height,
        caption,
        alpha: false,
        watermark: None,
        title: request.title.as_deref(),
        callback_id: request.callback_id.as_deref(),
        callback_url: request.callback_url.as_deref(),
        scene_item: v2_scene,
        names: v2_field,
    })
}

fn translate_scene(scene: &VideoInput) -> Result<SceneRequest<'_>, ApiError> {
    let character = &scene.character;
    let avatar = match character.kind.as_str() {
        "talking_photo" => character.talking_photo_id.as_deref(),
        "avatar" => character.avatar_id.as_deref(),
        other => {
            return Err(ApiError::invalid(
                "character.type",
                format!("'{other}' is not supported; use \"talking_photo\" with a talking_photo_id"),
            ));
        }
    };
    let voice = &scene.voice;
    let speech = match voice.kind.as_str() {
        "text" => SpeechRequest::Text {
            text: voice.input_text.as_deref().unwrap_or(""),
            voice_id: voice.voice_id.as_deref(),
            speed: number("voice.speed", &voice.speed)?,
            pitch: number("voice.pitch", &voice.pitch)?,
            emotion: voice.emotion.as_deref(),
        },
        "silence" => SpeechRequest::Silence { seconds: number("voice.duration", &voice.duration)? },
        "audio" => SpeechRequest::Audio { asset_id: voice.audio_asset_id.as_deref(), url: voice.audio_url.as_deref() },
        other => {
            return Err(ApiError::invalid(
                "voice.type",
                format!("'{other}' is not one of \"text\", \"audio\", \"silence\""),
            ));
        }
    };
    let background = match &scene.background {
        None => BackgroundRequest::Default,
        Some(b) if b.kind == "color" => BackgroundRequest::Colour(b.value.as_deref().unwrap_or("")),
        Some(b) if b.kind == "image" => BackgroundRequest::Image {
            asset_id: b.image_asset_id.as_deref(),
            url: b.url.as_deref(),
            fit: b.fit.as_deref(),
        },
        Some(b) => {
            return Err(ApiError::invalid(
                "background.type",
                format!(
                    "'{}' is not supported; use \"color\" (value \"#rrggbb\") or \"image\" (image_asset_id)",
                    b.kind
                ),
            ));
        }
    };
    Ok(SceneRequest {
        speaker: Speaker::Avatar(avatar.unwrap_or("")),
        speech,
        background,
        look: LookRequest {
            scale: character.scale,
            offset: character.offset.as_ref().map(|o| [o.x, o.y]),
            frame: character.talking_photo_style.as_deref(),
            style: character.talking_style.as_deref(),
            expression: character.expression.as_deref(),
            matting: character.matting.unwrap_or(false),
            cover: false,
        },
    })
}

/// `POST /v2/video/av4/generate` (Avatar IV): one photo, by its
/// `image_key`, speaking a script or a recording; no avatar needed first.
#[derive(Deserialize)]
pub(crate) struct Av4Request {
    image_key: String,
    video_title: Option<String>,
    script: Option<String>,
    voice_id: Option<String>,
    audio_url: Option<String>,
    audio_asset_id: Option<String>,
    custom_motion_prompt: Option<String>,
    /// "landscape" (the default), "portrait" or "square".
    video_orientation: Option<String>,
    callback_id: Option<String>,
    callback_url: Option<String>,
}

fn av4_field(field: Field) -> &'static str {
    match field {
        Field::Script | Field::SilenceDuration => "script",
        Field::VoiceId => "voice_id",
        Field::AudioAsset => "audio_asset_id",
        Field::AudioUrl => "audio_url",
        Field::Style | Field::Expression => "custom_motion_prompt",
        Field::CallbackUrl => "callback_url",
        Field::Avatar => "image_key",
        other => v2_field(other),
    }
}

pub(crate) async fn generate_av4(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    V2Json(request): V2Json<Av4Request>,
) -> Result<Json<Value>, V2Error> {
    let asset_id = super::assets::asset_id_of_image_key(&request.image_key);
    let named = super::assets::Named { id: Some(asset_id), url: None, id_field: "image_key", url_field: "" };
    let photo = super::assets::named_asset(&app, &key_id, named, "image").await?;
    let (width, height) = match orders::one_of(
        "video_orientation",
        request.video_orientation.as_deref(),
        &["landscape", "portrait", "square"],
    )? {
        Some("portrait") => (720, 1280),
        Some("square") => (720, 720),
        _ => DEFAULT_DIMENSION,
    };
    let (audio_asset, audio_url) = (request.audio_asset_id.as_deref(), request.audio_url.as_deref());
    let mut speech = SpeechRequest::script_or_recording(request.script.as_deref(), audio_asset, audio_url)?;
    if let SpeechRequest::Text { voice_id, .. } = &mut speech {
        *voice_id = request.voice_id.as_deref();
    }
    let (style, smile) = orders::motion_words(request.custom_motion_prompt.as_deref());
    let scene = SceneRequest {
        speaker: Speaker::Photo(photo),
        speech,
        background: BackgroundRequest::Default,
        look: LookRequest { style, expression: smile.then_some("happy"), cover: true, ..LookRequest::default() },
    };
    let order = OrderRequest {
        scenes: vec![scene],
        width,
        height,
        caption: false,
        alpha: false,
        watermark: None,
        title: request.video_title.as_deref(),
        callback_id: request.callback_id.as_deref(),
        callback_url: request.callback_url.as_deref(),
        scene_item: v2_scene,
        names: av4_field,
    };
    let placed = orders::place(&app, &key_id, order).await?;
    Ok(Json(json!({"error": null, "data": {"video_id": placed.video_id}})))
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
