//! `GET /v3/voices` (filtered by `language`, `gender`, `type`) and
//! `GET /v3/voices/{voice_id}`: the same voice catalogue as `GET
//! /v2/voices`, in v3's shape. Every voice is public (ours, shipped with
//! the server), honours `<break>` pauses, and has a preview sample.
//! `POST /v3/voices/speech` speaks a text; `POST /v3/voices/clone` says
//! this server cannot clone voices.

use super::{Params, V3Json, data, page};
use crate::App;
use crate::auth::Tenant;
use crate::error::{ApiError, V3Error};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// Voices a page holds unless the client asks otherwise, and at most.
const PAGE: (usize, usize) = (20, 100);

fn voice_json(app: &App, voice: &speech::Voice) -> Value {
    json!({
        "voice_id": voice.voice_id,
        "name": voice.name,
        "gender": voice.gender.as_str(),
        "language": voice.language,
        "type": "public",
        "support_pause": true,
        "support_locale": false,
        "support_interactive_avatar": false,
        "preview_audio_url": format!("{}/voice-previews/{}.wav", app.public_url, voice.voice_id),
    })
}

pub(crate) async fn list(
    State(app): State<App>,
    Tenant(_): Tenant,
    Query(params): Query<Params>,
) -> Result<Json<Value>, V3Error> {
    let given = |name: &str| params.get(name).map(|v| v.trim().to_lowercase()).filter(|v| !v.is_empty());
    let (language, gender) = (given("language"), given("gender"));
    if let Some(gender) = gender.as_deref().filter(|g| !["male", "female"].contains(g)) {
        return Err(ApiError::invalid("gender", format!("gender '{gender}' is not \"male\" or \"female\"")).into());
    }
    let private = match given("type").as_deref() {
        None | Some("public") => false,
        Some("private") => true,
        Some(other) => {
            return Err(ApiError::invalid("type", format!("type '{other}' is not \"public\" or \"private\"")).into());
        }
    };
    // A language is matched by its name ("English") or its code ("en", "en-US").
    let speaks = |voice: &speech::Voice, language: &str| {
        voice.language.to_lowercase() == language
            || voice.locale.to_lowercase() == language
            || voice.locale.to_lowercase().split('-').next() == Some(language)
    };
    // This server has no cloned voices yet: the private list is empty.
    let voices: Vec<&speech::Voice> = speech::voices()
        .iter()
        .filter(|_| !private)
        .filter(|v| language.as_deref().is_none_or(|l| speaks(v, l)))
        .filter(|v| gender.as_deref().is_none_or(|g| v.gender.as_str() == g))
        .collect();
    Ok(page(&voices, |v| v.voice_id.clone(), &params, PAGE.0, PAGE.1, |v| voice_json(&app, v))?)
}

pub(crate) async fn get(
    State(app): State<App>,
    Tenant(_): Tenant,
    Path(voice_id): Path<String>,
) -> Result<Json<Value>, V3Error> {
    let voice = speech::find_voice(&voice_id)
        .ok_or_else(|| ApiError::not_found(format!("voice '{voice_id}' not found; GET /v3/voices lists them")))?;
    Ok(data(voice_json(&app, voice)))
}

#[derive(Deserialize)]
pub(crate) struct SpeechRequest {
    text: String,
    voice_id: String,
    input_type: Option<String>,
    speed: Option<f32>,
    locale: Option<String>,
}

/// `POST /v3/voices/speech`: text spoken by a voice, kept as one of the
/// key's audio assets (so a video may use it as `audio_asset_id`), with
/// each word's time from the voice's own phoneme timings.
pub(crate) async fn speech(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    V3Json(request): V3Json<SpeechRequest>,
) -> Result<Json<Value>, V3Error> {
    if !matches!(request.input_type.as_deref(), None | Some("text")) {
        return Err(
            ApiError::invalid("input_type", "only \"text\" is supported (with <break time=\"1s\"/> pauses)").into()
        );
    }
    speech::validate_text(&request.text).map_err(|e| ApiError::invalid("text", e.to_string()))?;
    let voice = speech::find_voice(&request.voice_id).ok_or_else(|| {
        ApiError::not_found(format!("voice '{}' not found; GET /v3/voices lists them", request.voice_id))
    })?;
    if let Some(locale) = request.locale.as_deref().filter(|l| !l.is_empty() && !l.eq_ignore_ascii_case(voice.locale)) {
        return Err(ApiError::invalid(
            "locale",
            format!("voice '{}' speaks {}, not {locale}", voice.voice_id, voice.locale),
        )
        .into());
    }
    // This call's documented range is wider than a video's; the voices take 0.5–1.5.
    let options = speech::SpeechOptions { speed: request.speed.unwrap_or(1.0), pitch: 0.0, emotion: None };
    options.validate().map_err(|e| ApiError::invalid("speed", e.to_string()))?;
    let scratch = app.store.scratch_dir()?;
    let wav = scratch.path().join("speech.wav");
    let (text, voice_id, path) = (request.text.clone(), voice.voice_id.clone(), wav.clone());
    let spoken = tokio::task::spawn_blocking(move || -> Result<speech::Speech, String> {
        let spoken = speech::synthesize(&text, &voice_id, options).map_err(|e| e.to_string())?;
        media::write_wav(&path, spoken.sample_rate, &spoken.samples).map_err(|e| e.to_string())?;
        Ok(spoken)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let asset =
        crate::api::assets::keep_file(&app, &key_id, &wav, "audio/wav", "audio", Some("speech.wav".into())).await?;
    let duration = spoken.samples.len() as f64 / f64::from(spoken.sample_rate);
    let words: Vec<Value> = spoken
        .words
        .iter()
        .map(|w| json!({"word": w.text, "start": round_ms(w.start), "end": round_ms(w.end)}))
        .collect();
    Ok(data(json!({
        "audio_url": app.store.url(&app.public_url, &asset.file).await,
        "duration": (duration * 1000.0).round() / 1000.0,
        "request_id": asset.id,
        "asset_id": asset.id,
        "word_timestamps": words,
    })))
}

/// Seconds to the millisecond (an f32 widened as it is reads 0.30000001192).
fn round_ms(seconds: f32) -> f64 {
    (f64::from(seconds) * 1000.0).round() / 1000.0
}

/// `POST /v3/voices/clone`: there is no voice-cloning model on this server.
pub(crate) async fn clone(Tenant(_): Tenant) -> V3Error {
    V3Error(ApiError::Unsupported(
        "voice cloning is not available on this server: it has no cloning model; pick a voice from GET /v3/voices"
            .into(),
    ))
}
