//! `POST /v3/videos` (an avatar, an image or a studio list of scenes),
//! `GET /v3/videos/{video_id}`, `GET /v3/videos` (newest first, `title`
//! filter) and `DELETE /v3/videos/{video_id}`: the same videos as v1/v2's
//! (one made through either is seen through both), in v3's shape.
//!
//! Of a video's fields, `motion_prompt` is read for words this renderer
//! can act on (calm, energetic, smile: see [`orders::motion_words`]) and
//! `voice_settings.volume` is accepted but not applied (every video's
//! speech is normalised to the same loudness). `output_format: "webm"`
//! makes a VP9 video with an alpha channel: the person on a transparent
//! background, cut out by the selfie-segmentation model.

use super::{AssetInput, Params, V3Json, data, limit, list_page, parse};
use crate::App;
use crate::auth::Tenant;
use crate::db::{Asset, Video};
use crate::error::{ApiError, V3Error};
use crate::orders::{
    self, BackgroundRequest, Field, LookRequest, OrderRequest, SceneRequest, Speaker, SpeechRequest, one_of,
};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// Videos a page holds unless the client asks otherwise, and at most.
const PAGE: (usize, usize) = (10, 100);

/// A video as v3 shows it; the status words are v2's own (pending,
/// processing, completed, failed).
async fn video_json(app: &App, video: &Video) -> Value {
    let urls = crate::api::videos::file_urls(app, video).await;
    let (finished, failed) = (matches!(video.status.as_str(), "completed" | "failed"), video.status == "failed");
    json!({
        "id": video.id,
        "status": video.status,
        "title": video.title,
        "created_at": video.created_at,
        "completed_at": finished.then_some(video.updated_at),
        "duration": video.duration,
        "video_url": urls.video,
        "captioned_video_url": urls.captioned_video,
        "subtitle_url": urls.captions,
        "thumbnail_url": urls.thumbnail,
        "gif_url": urls.gif,
        "failure_code": failed.then_some("rendering_failed"),
        "failure_message": if failed { video.error_message.clone() } else { None },
        "folder_id": null,
    })
}

fn not_found(video_id: &str) -> ApiError {
    ApiError::not_found(format!("video '{video_id}' not found"))
}

pub(crate) async fn get(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(video_id): Path<String>,
) -> Result<Json<Value>, V3Error> {
    let video = app.db.video(Some(&key_id), &video_id).await?.ok_or_else(|| not_found(&video_id))?;
    Ok(data(video_json(&app, &video).await))
}

pub(crate) async fn list(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(params): Query<Params>,
) -> Result<Json<Value>, V3Error> {
    let limit = limit(&params, PAGE.0, PAGE.1)? as i64;
    let title = params.get("title").map(|t| t.trim()).filter(|t| !t.is_empty());
    let token = params.get("token").map(String::as_str);
    let (videos, next_token) = crate::api::videos::videos_page(&app, &key_id, token, title, limit).await?;
    let mut shown = Vec::with_capacity(videos.len());
    for video in &videos {
        shown.push(video_json(&app, video).await);
    }
    Ok(list_page(shown, next_token))
}

pub(crate) async fn delete(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(video_id): Path<String>,
) -> Result<Json<Value>, V3Error> {
    crate::api::videos::delete_video(&app, &key_id, &video_id).await?.ok_or_else(|| not_found(&video_id))?;
    Ok(data(json!({ "id": video_id, "deleted": true })))
}

/// Who performs and what they say: the fields a whole-video order and a
/// studio scene's `input` share.
#[derive(Deserialize)]
pub(crate) struct Performer {
    #[serde(rename = "type")]
    kind: String,
    avatar_id: Option<String>,
    image: Option<AssetInput>,
    script: Option<String>,
    voice_id: Option<String>,
    audio_url: Option<String>,
    audio_asset_id: Option<String>,
    voice_settings: Option<VoiceSettings>,
    background: Option<Background>,
    expressiveness: Option<String>,
    motion_prompt: Option<String>,
}

#[derive(Deserialize)]
struct VoiceSettings {
    speed: Option<f32>,
    pitch: Option<f32>,
    // `volume` is accepted as an unknown field: every video's speech is
    // normalised to the same loudness instead.
    locale: Option<String>,
}

#[derive(Deserialize)]
struct Background {
    #[serde(rename = "type")]
    kind: String,
    /// The colour: `value` in a video's background, `color` in a scene's.
    value: Option<String>,
    color: Option<String>,
    url: Option<String>,
    asset_id: Option<String>,
}

#[derive(Deserialize)]
struct Caption {
    file_format: Option<String>,
}

/// The whole-video fields of `POST /v3/videos` (read from the same body
/// as its [`Performer`], each ignoring the other's fields).
#[derive(Deserialize)]
pub(crate) struct VideoSettings {
    #[serde(rename = "type")]
    kind: String,
    aspect_ratio: Option<String>,
    resolution: Option<String>,
    fit: Option<String>,
    remove_background: Option<bool>,
    caption: Option<Caption>,
    output_format: Option<String>,
    title: Option<String>,
    callback_url: Option<String>,
    callback_id: Option<String>,
    scenes: Option<Vec<StudioScene>>,
    watermark: Option<Watermark>,
}

/// A logo over every frame.
#[derive(Deserialize)]
struct Watermark {
    image: AssetInput,
    opacity: Option<f32>,
    scale: Option<f32>,
    placement: Option<Placement>,
}

#[derive(Deserialize)]
struct Placement {
    position: Option<String>,
    offset_x: Option<f32>,
    offset_y: Option<f32>,
}

/// One scene of a `studio` video: an avatar or an image speaking.
#[derive(Deserialize)]
struct StudioScene {
    #[serde(rename = "type")]
    kind: String,
    input: Option<Performer>,
}

/// What v3 calls each field of an order.
fn v3_field(field: Field) -> &'static str {
    match field {
        Field::Scenes => "scenes",
        Field::Avatar => "avatar_id",
        Field::Script => "script",
        Field::VoiceId => "voice_id",
        Field::Speed => "voice_settings.speed",
        Field::Pitch => "voice_settings.pitch",
        Field::Emotion => "voice_settings",
        Field::SilenceDuration => "script",
        Field::AudioAsset => "audio_asset_id",
        Field::AudioUrl => "audio_url",
        Field::BackgroundColour => "background.value",
        Field::BackgroundAsset => "background.asset_id",
        Field::BackgroundUrl => "background.url",
        Field::BackgroundFit => "background",
        Field::Scale => "scale",
        Field::Offset => "offset",
        Field::Frame => "fit",
        Field::Style => "expressiveness",
        Field::Expression => "motion_prompt",
        Field::CallbackUrl => "callback_url",
    }
}

/// The frame's short side for each `resolution`.
fn short_side(resolution: Option<&str>) -> Result<u32, ApiError> {
    match resolution.unwrap_or("720p") {
        "720p" => Ok(720),
        "1080p" => Ok(1080),
        "4k" => Ok(2160),
        other => Err(ApiError::invalid("resolution", format!("'{other}' is not one of \"720p\", \"1080p\", \"4k\""))),
    }
}

/// The frame size of an `aspect_ratio` at a `resolution`: the short side
/// is the resolution's, the long side follows the ratio. `auto` takes the
/// ratio of the photo (`photo`), its long side at most 16:9's.
fn frame_size(
    aspect_ratio: Option<&str>,
    resolution: Option<&str>,
    photo: Option<(u32, u32)>,
) -> Result<(u32, u32), ApiError> {
    let short = short_side(resolution)?;
    let ratio = |w: u32, h: u32| w as f32 / h as f32;
    let (across, down) = match aspect_ratio.unwrap_or("16:9") {
        "16:9" => (16, 9),
        "9:16" => (9, 16),
        "4:5" => (4, 5),
        "5:4" => (5, 4),
        "1:1" => (1, 1),
        "auto" => match photo {
            Some((w, h)) if w > 0 && h > 0 => {
                let long = |r: f32| ((short as f32 * r).round() as u32).min(short * 16 / 9);
                return Ok(if w >= h { (long(ratio(w, h)), short) } else { (short, long(ratio(h, w))) });
            }
            _ => (16, 9),
        },
        other => {
            return Err(ApiError::invalid(
                "aspect_ratio",
                format!("'{other}' is not one of \"16:9\", \"9:16\", \"4:5\", \"5:4\", \"1:1\", \"auto\""),
            ));
        }
    };
    let long = |a: u32, b: u32| short * a / b;
    Ok(if across >= down { (long(across, down), short) } else { (short, long(down, across)) })
}

/// The voice a request names, moved to `locale` if it asks for another
/// one: the voice of the same gender that speaks it.
fn voice_for_locale<'a>(
    voice_id: Option<&'a str>,
    locale: Option<&str>,
    field: &str,
) -> Result<Option<&'a str>, ApiError> {
    let Some(locale) = locale.map(str::trim).filter(|l| !l.is_empty()) else { return Ok(voice_id) };
    let chosen = voice_id.filter(|v| !v.is_empty()).unwrap_or(speech::DEFAULT_VOICE_ID);
    let Some(voice) = speech::find_voice(chosen) else { return Ok(voice_id) };
    if voice.locale.eq_ignore_ascii_case(locale) {
        return Ok(voice_id);
    }
    speech::voices()
        .iter()
        .find(|v| v.locale.eq_ignore_ascii_case(locale) && v.gender == voice.gender)
        .map(|v| Some(v.voice_id.as_str()))
        .ok_or_else(|| {
            ApiError::invalid(
                field,
                format!(
                    "no {} voice speaks '{locale}'; voice '{chosen}' speaks {}",
                    voice.gender.as_str(),
                    voice.locale
                ),
            )
        })
}

/// A v3 video order read from its body: the whole-video settings and the
/// performers of its scenes (one, or a studio's list).
struct ParsedOrder {
    settings: VideoSettings,
    performers: Vec<Performer>,
    /// Whether the performers came as a studio's scenes.
    studio: bool,
}

impl ParsedOrder {
    /// How messages name a scene of this order.
    fn scene_item(&self) -> orders::SceneItem {
        if self.studio { studio_scene } else { single_scene }
    }
}

/// A studio's scenes are always named in messages, as their JSON path.
fn studio_scene(index: usize, _: usize) -> Option<String> {
    Some(format!("scenes[{index}].input"))
}

/// A video of one performer has no scenes to name.
fn single_scene(_: usize, _: usize) -> Option<String> {
    None
}

/// Reads a `POST /v3/videos` body (or a batch's item) into its parts.
fn parse_order(body: &Value) -> Result<ParsedOrder, ApiError> {
    let mut settings: VideoSettings = parse(body)?;
    let (performers, studio) = match settings.kind.as_str() {
        "avatar" | "image" => (vec![parse::<Performer>(body)?], false),
        "studio" => {
            let scenes = settings.scenes.take().unwrap_or_default();
            let mut performers = Vec::with_capacity(scenes.len());
            for (index, scene) in scenes.into_iter().enumerate() {
                let here = |e: ApiError| e.in_item(&format!("scenes[{index}]"));
                if scene.kind != "avatar" {
                    return Err(here(ApiError::invalid(
                        "type",
                        format!("'{}' scenes are not supported; this server renders \"avatar\" scenes", scene.kind),
                    )));
                }
                performers.push(scene.input.ok_or_else(|| here(ApiError::invalid("input", "is required")))?);
            }
            if performers.is_empty() {
                return Err(ApiError::invalid("scenes", "give at least one scene"));
            }
            (performers, true)
        }
        "cinematic_avatar" => {
            return Err(ApiError::invalid(
                "type",
                "cinematic_avatar videos are not available on this server; use \"avatar\", \"image\" or \"studio\"",
            ));
        }
        other => {
            return Err(ApiError::invalid(
                "type",
                format!("'{other}' is not one of \"avatar\", \"image\", \"studio\""),
            ));
        }
    };
    Ok(ParsedOrder { settings, performers, studio })
}

/// The photo each performer speaks through, for those given as an image
/// (fetched, decoded or looked up now, and kept as uploads).
async fn performer_photos(app: &App, key_id: &str, order: &ParsedOrder) -> Result<Vec<Option<Asset>>, ApiError> {
    let count = order.performers.len();
    let mut photos = Vec::with_capacity(count);
    for (index, performer) in order.performers.iter().enumerate() {
        photos.push(orders::about(performer_photo(app, key_id, performer).await, order.scene_item()(index, count))?);
    }
    Ok(photos)
}

async fn performer_photo(app: &App, key_id: &str, performer: &Performer) -> Result<Option<Asset>, ApiError> {
    match (performer.kind.as_str(), &performer.image) {
        ("image", Some(image)) => Ok(Some(image.resolve(app, key_id, "image", "image").await?)),
        ("image", None) => Err(ApiError::invalid("image", "is required for an \"image\" video")),
        ("avatar", _) => Ok(None),
        (other, _) => Err(ApiError::invalid("type", format!("'{other}' is not \"avatar\" or \"image\""))),
    }
}

/// The width and height of the first photo of an order, for `aspect_ratio: auto`.
async fn first_photo_size(
    app: &App,
    key_id: &str,
    order: &ParsedOrder,
    photos: &[Option<Asset>],
) -> Option<(u32, u32)> {
    let file = match (photos.first()?, order.performers.first()?) {
        (Some(photo), _) => photo.file.clone(),
        (None, performer) => {
            app.db.avatar_group(Some(key_id), performer.avatar_id.as_deref()?).await.ok()??.image_file?
        }
    };
    let bytes = app.store.get(&file).await.ok()?;
    image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().ok()?.into_dimensions().ok()
}

/// One performer as a scene of the domain's order.
fn scene_request<'a>(
    performer: &'a Performer,
    photo: Option<Asset>,
    settings: &'a VideoSettings,
) -> Result<SceneRequest<'a>, ApiError> {
    let speaker = match photo {
        Some(photo) => Speaker::Photo(photo),
        None => Speaker::Avatar(performer.avatar_id.as_deref().unwrap_or("")),
    };
    let voice = performer.voice_settings.as_ref();
    let (audio_asset, audio_url) = (performer.audio_asset_id.as_deref(), performer.audio_url.as_deref());
    let mut speech = SpeechRequest::script_or_recording(performer.script.as_deref(), audio_asset, audio_url)?;
    if let SpeechRequest::Text { voice_id, speed, pitch, .. } = &mut speech {
        let locale = voice.and_then(|v| v.locale.as_deref());
        *voice_id = voice_for_locale(performer.voice_id.as_deref(), locale, "voice_settings.locale")?;
        (*speed, *pitch) = (voice.and_then(|v| v.speed), voice.and_then(|v| v.pitch));
    }
    let background = match &performer.background {
        None => BackgroundRequest::Default,
        Some(b) if b.kind == "color" => {
            BackgroundRequest::Colour(b.value.as_deref().or(b.color.as_deref()).unwrap_or(""))
        }
        Some(b) if b.kind == "image" => {
            BackgroundRequest::Image { asset_id: b.asset_id.as_deref(), url: b.url.as_deref(), fit: None }
        }
        Some(b) => {
            return Err(ApiError::invalid("background.type", format!("'{}' is not \"color\" or \"image\"", b.kind)));
        }
    };
    let expressiveness = one_of("expressiveness", performer.expressiveness.as_deref(), &["low", "medium", "high"])?;
    let (prompted_style, smile) = orders::motion_words(performer.motion_prompt.as_deref());
    let style = match expressiveness {
        Some("high") => Some("expressive"),
        Some(_) => Some("stable"),
        None => prompted_style,
    };
    let cover = one_of("fit", settings.fit.as_deref(), &["contain", "cover"])? == Some("cover");
    Ok(SceneRequest {
        speaker,
        speech,
        background,
        look: LookRequest {
            style,
            expression: smile.then_some("happy"),
            matting: settings.remove_background.unwrap_or(false),
            cover,
            ..LookRequest::default()
        },
    })
}

/// Checks a v3 video order (the body of `POST /v3/videos`, or an item of
/// a batch) into the domain's checked order.
pub(super) async fn check_order(app: &App, key_id: &str, body: &Value) -> Result<orders::Checked, ApiError> {
    let order = parse_order(body)?;
    let settings = &order.settings;
    let alpha = one_of("output_format", settings.output_format.as_deref(), &["mp4", "webm"])? == Some("webm");
    if let Some(format) = settings.caption.as_ref().and_then(|c| c.file_format.as_deref()).filter(|f| *f != "srt") {
        return Err(ApiError::invalid("caption.file_format", format!("'{format}' is not \"srt\"")));
    }
    let photos = performer_photos(app, key_id, &order).await?;
    let photo_size = match settings.aspect_ratio.as_deref() {
        Some("auto") => first_photo_size(app, key_id, &order, &photos).await,
        _ => None,
    };
    let (width, height) = frame_size(settings.aspect_ratio.as_deref(), settings.resolution.as_deref(), photo_size)?;
    let watermark = match &settings.watermark {
        Some(watermark) => {
            let placement = watermark.placement.as_ref();
            Some(orders::WatermarkRequest {
                image: watermark.image.resolve(app, key_id, "image", "watermark.image").await?,
                scale: watermark.scale,
                opacity: watermark.opacity,
                position: placement.and_then(|p| p.position.as_deref()),
                offset: [placement.and_then(|p| p.offset_x), placement.and_then(|p| p.offset_y)],
            })
        }
        None => None,
    };
    let scene_item = order.scene_item();
    let count = order.performers.len();
    let mut scenes = Vec::with_capacity(count);
    for (index, (performer, photo)) in order.performers.iter().zip(photos).enumerate() {
        scenes.push(orders::about(scene_request(performer, photo, settings), scene_item(index, count))?);
    }
    let request = OrderRequest {
        scenes,
        width,
        height,
        caption: settings.caption.is_some(),
        alpha,
        watermark,
        title: settings.title.as_deref(),
        callback_id: settings.callback_id.as_deref(),
        callback_url: settings.callback_url.as_deref(),
        scene_item,
        names: v3_field,
    };
    orders::check(app, key_id, request).await
}

/// `POST /v3/videos`.
pub(crate) async fn create(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    V3Json(body): V3Json<Value>,
) -> Result<Json<Value>, V3Error> {
    let checked = check_order(&app, &key_id, &body).await?;
    orders::check_key(&app, &key_id, 1).await?;
    let placed = orders::queue(&app, &key_id, checked, None).await?;
    let format = if placed.alpha { "webm" } else { "mp4" };
    Ok(data(json!({"video_id": placed.video_id, "status": "pending", "output_format": format})))
}
