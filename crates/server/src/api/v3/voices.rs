//! `GET /v3/voices` (filtered by `language`, `gender`, `type`) and
//! `GET /v3/voices/{voice_id}`: the same voice catalogue as `GET
//! /v2/voices`, in v3's shape. Every voice is public (ours, shipped with
//! the server), honours `<break>` pauses, and has a preview sample.

use super::{Params, data, page};
use crate::App;
use crate::auth::Tenant;
use crate::error::{ApiError, V3Error};
use axum::Json;
use axum::extract::{Path, Query, State};
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
