//! Ordering a video, whatever door the order comes through: v2's
//! `video/generate`, v2's Avatar IV call, v3's `POST /v3/videos` and its
//! batches. Each door translates its own JSON into an [`OrderRequest`]; the
//! checks, the quota, the stored order and the queued job are here, once.
//!
//! Doors name their fields differently (v2 `voice.input_text`, v3
//! `script`), so every check reports the [`Field`] at fault and the door's
//! [`FieldNames`] turns it into the name its client sent.

use crate::App;
use crate::api::assets::{Named, named_asset};
use crate::db::{Asset, AvatarGroup, new_id};
use crate::error::ApiError;
use crate::worker::{Look, SceneOrder, VIDEO_JOB, VideoOrder, WatermarkOrder};

/// HeyGen's limit on the scenes of one video.
pub(crate) const MAX_SCENES: usize = 50;
/// HeyGen's limits on a silence scene, in seconds.
const SILENCE_SECONDS: std::ops::RangeInclusive<f32> = 1.0..=100.0;

/// A field of an order that a check can find wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Scenes,
    Avatar,
    Script,
    VoiceId,
    Speed,
    Pitch,
    Emotion,
    SilenceDuration,
    AudioAsset,
    AudioUrl,
    BackgroundColour,
    BackgroundAsset,
    BackgroundUrl,
    BackgroundFit,
    Scale,
    Offset,
    Frame,
    Style,
    Expression,
    CallbackUrl,
}

/// How one door names the fields of an order.
pub(crate) type FieldNames = fn(Field) -> &'static str;

/// How one door names scene `index` of `count` in its messages, if at all.
pub(crate) type SceneItem = fn(index: usize, count: usize) -> Option<String>;

/// The same result, about `item` when there is one.
pub(crate) fn about<T>(result: Result<T, ApiError>, item: Option<String>) -> Result<T, ApiError> {
    match item {
        Some(item) => result.map_err(|e| e.in_item(&item)),
        None => result,
    }
}

/// A video as a door asks for it, in the domain's terms.
pub(crate) struct OrderRequest<'a> {
    pub scenes: Vec<SceneRequest<'a>>,
    pub width: u32,
    pub height: u32,
    pub caption: bool,
    /// A transparent background (a WebM with alpha) instead of an MP4.
    pub alpha: bool,
    pub watermark: Option<WatermarkRequest<'a>>,
    pub title: Option<&'a str>,
    pub callback_id: Option<&'a str>,
    pub callback_url: Option<&'a str>,
    /// What the door calls scene `i` of `n` in its messages
    /// (`video_inputs[1]`, `scenes[1].input`), if it names it at all.
    pub scene_item: SceneItem,
    pub names: FieldNames,
}

/// Who speaks in a scene.
pub(crate) enum Speaker<'a> {
    /// A talking photo (avatar group or look) of the tenant.
    Avatar(&'a str),
    /// A photo uploaded or fetched for this order: it is analysed when the
    /// video is made, as an avatar kept out of the tenant's lists.
    Photo(Asset),
}

/// What a scene says.
pub(crate) enum SpeechRequest<'a> {
    Text {
        text: &'a str,
        voice_id: Option<&'a str>,
        speed: Option<f32>,
        pitch: Option<f32>,
        emotion: Option<&'a str>,
    },
    /// A recording, uploaded (asset id) or at a URL to fetch now.
    Audio {
        asset_id: Option<&'a str>,
        url: Option<&'a str>,
    },
    Silence {
        seconds: Option<f32>,
    },
}

impl<'a> SpeechRequest<'a> {
    /// A script or a recording (an uploaded asset or a URL), never both, as
    /// v3 and Avatar IV give them; the door fills in a script's voice.
    pub(crate) fn script_or_recording(
        script: Option<&'a str>,
        asset_id: Option<&'a str>,
        url: Option<&'a str>,
    ) -> Result<Self, ApiError> {
        match (script.filter(|s| !s.trim().is_empty()), asset_id, url) {
            (Some(text), None, None) => {
                Ok(SpeechRequest::Text { text, voice_id: None, speed: None, pitch: None, emotion: None })
            }
            (Some(_), _, _) => {
                Err(ApiError::invalid("script", "give a script or audio (audio_url, audio_asset_id), not both"))
            }
            (None, None, None) => {
                Err(ApiError::invalid("script", "give a script (and voice_id) or audio_url / audio_asset_id"))
            }
            (None, asset_id, url) => Ok(SpeechRequest::Audio { asset_id, url }),
        }
    }
}

/// What is behind the photo.
pub(crate) enum BackgroundRequest<'a> {
    /// White, as HeyGen's default.
    Default,
    Colour(&'a str),
    Image {
        asset_id: Option<&'a str>,
        url: Option<&'a str>,
        fit: Option<&'a str>,
    },
}

/// How the photo is shown; `None` takes the default.
#[derive(Default)]
pub(crate) struct LookRequest<'a> {
    pub scale: Option<f32>,
    pub offset: Option<[f32; 2]>,
    /// "square" or "circle" (the head cut out), else the whole photo.
    pub frame: Option<&'a str>,
    /// "stable" or "expressive".
    pub style: Option<&'a str>,
    /// "default" or "happy".
    pub expression: Option<&'a str>,
    pub matting: bool,
    /// Fill the frame with the photo instead of fitting it inside.
    pub cover: bool,
}

pub(crate) struct SceneRequest<'a> {
    pub speaker: Speaker<'a>,
    pub speech: SpeechRequest<'a>,
    pub background: BackgroundRequest<'a>,
    pub look: LookRequest<'a>,
}

/// A logo over every frame: an image of the tenant's and how it shows.
pub(crate) struct WatermarkRequest<'a> {
    pub image: Asset,
    /// 1 is a fifth of the frame's width.
    pub scale: Option<f32>,
    pub opacity: Option<f32>,
    /// "top_left", "top_right", "bottom_left" or "bottom_right" (the default).
    pub position: Option<&'a str>,
    /// From the corner, as fractions of the frame's width and height.
    pub offset: [Option<f32>; 2],
}

/// A watermark's width at scale 1, as a fraction of the frame's.
const WATERMARK_WIDTH: f32 = 0.2;
/// Its distance from the corner unless told, as a fraction of the frame.
const WATERMARK_MARGIN: f32 = 0.02;

fn check_watermark(watermark: WatermarkRequest) -> Result<WatermarkOrder, ApiError> {
    let scale = watermark.scale.unwrap_or(1.0);
    if !(scale > 0.0 && scale * WATERMARK_WIDTH <= 1.0) {
        return Err(ApiError::invalid("watermark.scale", format!("is {scale}; give a number above 0 and at most 5")));
    }
    let opacity = watermark.opacity.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&opacity) {
        return Err(ApiError::invalid("watermark.opacity", format!("is {opacity}; give a number from 0 to 1")));
    }
    let corners = ["top_left", "top_right", "bottom_left", "bottom_right"];
    let corner = one_of("watermark.placement.position", watermark.position, &corners)?.unwrap_or("bottom_right");
    let mut margin = [WATERMARK_MARGIN; 2];
    for (axis, name) in ["offset_x", "offset_y"].iter().enumerate() {
        if let Some(offset) = watermark.offset[axis] {
            if !(0.0..=1.0).contains(&offset) {
                return Err(ApiError::invalid(
                    format!("watermark.placement.{name}"),
                    format!("is {offset}; give the distance from the corner as a fraction of the frame, 0 to 1"),
                ));
            }
            margin[axis] = offset;
        }
    }
    Ok(WatermarkOrder {
        asset_id: watermark.image.id,
        width: WATERMARK_WIDTH * scale,
        corner: corner.to_string(),
        margin,
        opacity,
    })
}

/// A video that was queued.
pub(crate) struct Placed {
    pub video_id: String,
    /// The size that will be rendered (H.264 needs even sides).
    pub width: u32,
    pub height: u32,
    /// A WebM with alpha rather than an MP4.
    pub alpha: bool,
}

/// An order that passed every check, ready to be queued.
pub(crate) struct Checked {
    /// Each scene, with the photo it speaks through when it came with the order.
    scenes: Vec<(SceneOrder, Option<Asset>)>,
    width: u32,
    height: u32,
    caption: bool,
    alpha: bool,
    watermark: Option<WatermarkOrder>,
    title: Option<String>,
    callback_id: Option<String>,
    callback_url: Option<String>,
}

/// Checks an order, and that its key may have one more, and queues it.
pub(crate) async fn place(app: &App, key_id: &str, request: OrderRequest<'_>) -> Result<Placed, ApiError> {
    let checked = check(app, key_id, request).await?;
    check_key(app, key_id, 1).await?;
    queue(app, key_id, checked, None).await
}

/// Checks everything a client can get wrong in an order, before anything
/// of it is queued; whether its key may order it is [`check_key`]'s.
pub(crate) async fn check(app: &App, key_id: &str, request: OrderRequest<'_>) -> Result<Checked, ApiError> {
    let names = request.names;
    let count = request.scenes.len();
    if count == 0 || count > MAX_SCENES {
        return Err(ApiError::invalid(
            names(Field::Scenes),
            format!("{count} scenes were given; give 1 to {MAX_SCENES}"),
        ));
    }
    let spec = pipeline::VideoSpec::new(request.width, request.height, [0, 0, 0])
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut scenes = Vec::with_capacity(count);
    for (index, scene) in request.scenes.into_iter().enumerate() {
        let result = check_scene(app, key_id, scene, names).await;
        scenes.push(about(result, (request.scene_item)(index, count))?);
    }
    let watermark = request.watermark.map(check_watermark).transpose()?;
    let callback_url = request.callback_url.filter(|u| !u.is_empty());
    if let Some(url) = callback_url {
        crate::outbound::check_param(url, app.allow_private_urls, names(Field::CallbackUrl)).await?;
    }
    Ok(Checked {
        scenes,
        width: spec.width,
        height: spec.height,
        caption: request.caption,
        alpha: request.alpha,
        watermark,
        title: request.title.map(str::to_string),
        callback_id: request.callback_id.map(str::to_string),
        callback_url: callback_url.map(str::to_string),
    })
}

/// Queues a checked order, as item `index` of batch `batch` if it is one.
/// Photos given for this order alone become avatars only now, so a refused
/// order leaves nothing behind but the uploads it fetched.
pub(crate) async fn queue(
    app: &App,
    key_id: &str,
    checked: Checked,
    batch: Option<(&str, usize)>,
) -> Result<Placed, ApiError> {
    let mut scenes = Vec::with_capacity(checked.scenes.len());
    for (mut scene, photo) in checked.scenes {
        if let Some(photo) = photo {
            scene.talking_photo_id = photo_avatar(app, key_id, &photo).await?;
        }
        scenes.push(scene);
    }
    let order = VideoOrder {
        scenes,
        width: checked.width,
        height: checked.height,
        caption: checked.caption,
        alpha: checked.alpha,
        watermark: checked.watermark,
    };
    let video_id = new_id();
    let stored = serde_json::to_string(&order).map_err(ApiError::internal)?;
    let callback = (checked.callback_id.as_deref(), checked.callback_url.as_deref());
    app.db.insert_video(&video_id, key_id, &stored, callback, checked.title.as_deref(), batch).await?;
    app.db.enqueue(VIDEO_JOB, &video_id, key_id).await?;
    app.jobs_queued.notify_one();
    Ok(Placed { video_id, width: order.width, height: order.height, alpha: order.alpha })
}

/// Whether a key may order `adding` more videos: its quota is not used
/// up, and it would not have more waiting than the server allows. Asked
/// once per request (a batch asks for all its videos at once).
pub(crate) async fn check_key(app: &App, key_id: &str, adding: usize) -> Result<(), ApiError> {
    check_quota(app, key_id).await?;
    check_queue(app, key_id, adding).await
}

/// Refuses `adding` more videos when the key would have more waiting in
/// the queue than the server allows (`--max-queued-per-key`).
async fn check_queue(app: &App, key_id: &str, adding: usize) -> Result<(), ApiError> {
    let queued = app.db.queued_videos(key_id).await?.max(0) as u64;
    let limit = app.max_queued_per_key;
    if queued + adding as u64 > limit {
        return Err(ApiError::TooManyQueued(format!(
            "this key has {queued} videos waiting in the queue and may have at most {limit}; \
             order more once some have started"
        )));
    }
    Ok(())
}

/// Refuses an order once the key has used its quota of seconds.
async fn check_quota(app: &App, key_id: &str) -> Result<(), ApiError> {
    let Some(key) = app.db.key(key_id).await? else { return Ok(()) };
    match key.quota_seconds {
        Some(quota) if key.used_seconds >= quota as f64 => Err(ApiError::QuotaExceeded(format!(
            "this API key has used its quota: {:.0} of {quota} seconds of video; ask the operator for more",
            key.used_seconds
        ))),
        _ => Ok(()),
    }
}

/// An avatar, kept out of the tenant's lists, for a photo given with an
/// order; the video job analyses it when it needs the rig.
async fn photo_avatar(app: &App, key_id: &str, photo: &Asset) -> Result<String, ApiError> {
    let group = AvatarGroup::new(key_id, photo, photo.name.clone(), false);
    app.db.insert_avatar_group(&group).await?;
    Ok(group.id)
}

/// One scene checked: its order (without a talking photo yet when it
/// speaks through a photo of its own, which is returned beside it).
async fn check_scene(
    app: &App,
    key_id: &str,
    scene: SceneRequest<'_>,
    names: FieldNames,
) -> Result<(SceneOrder, Option<Asset>), ApiError> {
    let invalid = |field: Field, message: String| ApiError::invalid(names(field), message);
    let (talking_photo_id, photo) = match scene.speaker {
        Speaker::Avatar(id) => {
            let id =
                Some(id).filter(|id| !id.is_empty()).ok_or_else(|| invalid(Field::Avatar, "is required".into()))?;
            let group = app.db.avatar_group(Some(key_id), id).await?.ok_or_else(|| {
                ApiError::NotFound(format!("{}: talking photo '{id}' not found", names(Field::Avatar)))
            })?;
            if group.status == "failed" {
                let reason = group.error_msg.unwrap_or_default();
                return Err(invalid(Field::Avatar, format!("talking photo '{id}' cannot be used: {reason}")));
            }
            (group.id, None)
        }
        Speaker::Photo(asset) => (String::new(), Some(asset)),
    };
    let mut order = SceneOrder {
        talking_photo_id,
        text: String::new(),
        voice_id: speech::DEFAULT_VOICE_ID.to_string(),
        speed: 1.0,
        pitch: 0.0,
        emotion: None,
        silence: None,
        audio_asset: None,
        background: [255, 255, 255],
        look: check_look(&scene.look, names)?,
    };
    match scene.speech {
        SpeechRequest::Text { text, voice_id, speed, pitch, emotion } => {
            let emotion = emotion
                .filter(|name| !name.is_empty())
                .map(speech::Emotion::parse)
                .transpose()
                .map_err(|e| invalid(Field::Emotion, e.to_string()))?;
            let (speed, pitch) = (speed.unwrap_or(1.0), pitch.unwrap_or(0.0));
            // Each option alone, to name the one at fault.
            for (field, speed, pitch) in [(Field::Speed, speed, 0.0), (Field::Pitch, 1.0, pitch)] {
                let alone = speech::SpeechOptions { speed, pitch, emotion: None };
                alone.validate().map_err(|e| invalid(field, e.to_string()))?;
            }
            let options = speech::SpeechOptions { speed, pitch, emotion };
            speech::validate_text(text).map_err(|e| invalid(Field::Script, e.to_string()))?;
            let voice_id = voice_id.filter(|v| !v.is_empty()).unwrap_or(speech::DEFAULT_VOICE_ID);
            let voice = speech::find_voice(voice_id).ok_or_else(|| {
                invalid(Field::VoiceId, speech::SpeechError::UnknownVoice(voice_id.to_string()).to_string())
            })?;
            voice.check_options(&options).map_err(|e| invalid(Field::Emotion, e.to_string()))?;
            order.text = text.to_string();
            order.voice_id = voice_id.to_string();
            (order.speed, order.pitch, order.emotion) = (options.speed, options.pitch, options.emotion);
        }
        SpeechRequest::Silence { seconds } => {
            let seconds = seconds.unwrap_or(1.0);
            if !SILENCE_SECONDS.contains(&seconds) {
                return Err(invalid(
                    Field::SilenceDuration,
                    format!(
                        "is {seconds}; a silence lasts {} to {} seconds",
                        SILENCE_SECONDS.start(),
                        SILENCE_SECONDS.end()
                    ),
                ));
            }
            order.silence = Some(seconds);
        }
        SpeechRequest::Audio { asset_id, url } => {
            let named =
                Named { id: asset_id, url, id_field: names(Field::AudioAsset), url_field: names(Field::AudioUrl) };
            order.audio_asset = Some(named_asset(app, key_id, named, "audio").await?.id);
        }
    }
    match scene.background {
        BackgroundRequest::Default => {}
        BackgroundRequest::Colour(value) => {
            order.background =
                pipeline::parse_colour(value).map_err(|e| invalid(Field::BackgroundColour, e.to_string()))?;
        }
        BackgroundRequest::Image { asset_id, url, fit } => {
            if !matches!(fit, None | Some("cover") | Some("crop")) {
                return Err(invalid(
                    Field::BackgroundFit,
                    "only \"cover\" is supported (the image fills the frame)".into(),
                ));
            }
            let named = Named {
                id: asset_id,
                url,
                id_field: names(Field::BackgroundAsset),
                url_field: names(Field::BackgroundUrl),
            };
            order.look.background_asset = Some(named_asset(app, key_id, named, "image").await?.id);
        }
    }
    Ok((order, photo))
}

/// HeyGen's talking-photo options, checked.
fn check_look(look: &LookRequest, names: FieldNames) -> Result<Look, ApiError> {
    let scale = look.scale.unwrap_or(1.0);
    if !(scale > 0.0 && scale <= 2.0) {
        return Err(ApiError::invalid(names(Field::Scale), format!("is {scale}; give a number above 0 and at most 2")));
    }
    let offset = look.offset.unwrap_or([0.0, 0.0]);
    if offset.iter().any(|v| !(-1.0..=1.0).contains(v)) {
        return Err(ApiError::invalid(names(Field::Offset), "x and y are fractions of the frame, from -1 to 1"));
    }
    let frame = one_of(names(Field::Frame), look.frame, &["square", "circle"])?.unwrap_or("full");
    let expressive = one_of(names(Field::Style), look.style, &["stable", "expressive"])? == Some("expressive");
    let happy = one_of(names(Field::Expression), look.expression, &["default", "happy"])? == Some("happy");
    Ok(Look {
        scale,
        offset,
        frame: frame.into(),
        expressive,
        happy,
        matting: look.matting,
        cover: look.cover,
        background_asset: None,
    })
}

/// What a `motion_prompt` asks that this renderer can do: a calmer or a
/// livelier head, and a smile. Other words are accepted and left alone.
pub(crate) fn motion_words(prompt: Option<&str>) -> (Option<&'static str>, bool) {
    let prompt = prompt.unwrap_or("").to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| prompt.contains(w));
    let style = if has(&["energetic", "lively", "animated", "expressive", "excited", "nod", "look around", "gestur"]) {
        Some("expressive")
    } else if has(&["calm", "still", "subtle", "steady", "stable", "minimal"]) {
        Some("stable")
    } else {
        None
    };
    (style, has(&["smil", "happy", "cheerful", "joy"]))
}

/// An optional option that must be one of `allowed` when given.
pub(crate) fn one_of<'a>(field: &str, value: Option<&'a str>, allowed: &[&str]) -> Result<Option<&'a str>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v)),
        Some(other) => {
            let choices: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
            Err(ApiError::invalid(field, format!("'{other}' is not one of {}", choices.join(", "))))
        }
    }
}
