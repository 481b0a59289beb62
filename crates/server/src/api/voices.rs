//! `GET /v2/voices` and the short preview sample behind each voice's
//! `preview_audio` URL (spoken once on first request, then served from the store).

use crate::App;
use crate::auth::Tenant;
use crate::error::{ApiError, V2Error};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub(crate) async fn list(State(app): State<App>, Tenant(_): Tenant) -> Json<Value> {
    let voices: Vec<Value> = speech::voices()
        .iter()
        .map(|voice| {
            json!({
                "voice_id": voice.voice_id,
                "language": voice.language,
                "gender": voice.gender.as_str(),
                "name": voice.name,
                "preview_audio": format!("{}/voice-previews/{}.wav", app.public_url, voice.voice_id),
                "support_pause": true,
                "emotion_support": voice.emotion_support(),
                "support_interactive_avatar": false,
            })
        })
        .collect();
    Json(json!({"error": null, "data": {"voices": voices}}))
}

pub(crate) async fn preview(State(app): State<App>, Path(file): Path<String>) -> Result<impl IntoResponse, V2Error> {
    let voice_id = file.strip_suffix(".wav").unwrap_or(&file).to_string();
    let voice = speech::find_voice(&voice_id).ok_or_else(|| ApiError::not_found(format!("no voice '{voice_id}'")))?;
    // Made once per voice and kept in the store.
    let name = format!("voices/{}.wav", voice.voice_id);
    if let Ok(bytes) = app.store.get(&name).await {
        return Ok(([(header::CONTENT_TYPE, "audio/wav")], bytes));
    }
    let text = format!("Hello, I am {}.", voice.name.split(' ').next().unwrap_or("Mouthpiece"));
    let voice_id = voice.voice_id.clone();
    let scratch = app.store.scratch_dir()?;
    let wav = scratch.path().join("preview.wav");
    let target = wav.clone();
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let speech =
            speech::synthesize(&text, &voice_id, speech::SpeechOptions::default()).map_err(|e| e.to_string())?;
        media::write_wav(&target, speech.sample_rate, &speech.samples).map_err(|e| e.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let bytes = tokio::fs::read(&wav).await?;
    app.store.put(&name, &bytes).await?;
    Ok(([(header::CONTENT_TYPE, "audio/wav")], bytes))
}
