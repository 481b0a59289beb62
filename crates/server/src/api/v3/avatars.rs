//! Photo avatars in v3's terms: `POST /v3/avatars` (a photo given as a
//! URL, an asset or base64; training starts at once), the groups (`GET
//! /v3/avatars`, `GET` and `DELETE /v3/avatars/{group_id}`) and their looks
//! (`GET /v3/avatars/looks`, `GET`, `PATCH` and `DELETE
//! /v3/avatars/looks/{look_id}`). They are the same objects as v2's avatar
//! groups and talking photos: a photo group has one look, whose id is the
//! group's.

use super::{AssetInput, Params, V3Json, data, list_page, page_of};
use crate::App;
use crate::api::avatars::{create_avatar, delete_avatar, find_group, preview_video_url, start_training};
use crate::auth::Tenant;
use crate::db::AvatarGroup;
use crate::error::{ApiError, V3Error};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// Groups and looks a page holds unless the client asks otherwise, and at most.
const PAGE: (usize, usize) = (20, 50);

/// v2's training states in v3's words.
fn status(group: &AvatarGroup) -> &'static str {
    match group.status.as_str() {
        "ready" => "completed",
        "failed" => "failed",
        _ => "processing",
    }
}

fn error(group: &AvatarGroup) -> Value {
    match group.status.as_str() {
        "failed" => json!({"code": "face_analysis_failed", "message": group.error_msg.clone().unwrap_or_default()}),
        _ => Value::Null,
    }
}

async fn group_json(app: &App, group: &AvatarGroup) -> Value {
    json!({
        "id": group.id,
        "name": group.name,
        "created_at": group.created_at,
        "looks_count": 1,
        "status": status(group),
        "error": error(group),
        "gender": null,
        "default_voice_id": null,
        "consent_status": null,
        "preview_image_url": crate::api::avatars::image_url(app, group),
        "preview_video_url": preview_video_url(app, group).await,
    })
}

async fn look_json(app: &App, group: &AvatarGroup) -> Value {
    let orientation = match (group.image_width, group.image_height) {
        (Some(w), Some(h)) if w > h => Some("landscape"),
        (Some(w), Some(h)) if w < h => Some("portrait"),
        (Some(_), Some(_)) => Some("square"),
        _ => None,
    };
    json!({
        "id": group.id,
        "name": group.name,
        "avatar_type": "photo_avatar",
        "group_id": group.id,
        "status": status(group),
        "error": error(group),
        "gender": null,
        "default_voice_id": null,
        "image_width": group.image_width,
        "image_height": group.image_height,
        "preferred_orientation": orientation,
        "preview_image_url": crate::api::avatars::image_url(app, group),
        "preview_video_url": preview_video_url(app, group).await,
        "supported_api_engines": ["avatar_iv"],
        "tags": [],
        "created_at": group.created_at,
    })
}

#[derive(Deserialize)]
pub(crate) struct CreateAvatar {
    #[serde(rename = "type")]
    kind: String,
    name: Option<String>,
    file: Option<AssetInput>,
    avatar_group_id: Option<String>,
}

/// `POST /v3/avatars` with `type: "photo"`.
pub(crate) async fn create(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    V3Json(request): V3Json<CreateAvatar>,
) -> Result<Json<Value>, V3Error> {
    match request.kind.as_str() {
        "photo" => {}
        "prompt" | "digital_twin" => {
            return Err(ApiError::Unsupported(format!(
                "{} avatars are not available on this server; make a \"photo\" avatar from a portrait (file)",
                request.kind
            ))
            .into());
        }
        other => return Err(ApiError::invalid("type", format!("'{other}' is not \"photo\"")).into()),
    }
    if request.avatar_group_id.as_deref().is_some_and(|g| !g.is_empty()) {
        return Err(ApiError::Unsupported(
            "an avatar here has one look, its photo; leave avatar_group_id out to make a new avatar".into(),
        )
        .into());
    }
    let file = request.file.as_ref().ok_or_else(|| ApiError::invalid("file", "is required: the portrait photo"))?;
    let photo = file.resolve(&app, &key_id, "image", "file").await?;
    let group = create_avatar(&app, &key_id, photo, request.name).await?;
    start_training(&app, &group).await?;
    Ok(data(json!({"avatar_group": group_json(&app, &group).await, "avatar_item": look_json(&app, &group).await})))
}

pub(crate) async fn list(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(params): Query<Params>,
) -> Result<Json<Value>, V3Error> {
    let groups = app.db.avatar_groups(&key_id).await?;
    let (groups, next_token) = page_of(&groups, |g| g.id.clone(), &params, PAGE.0, PAGE.1)?;
    let mut shown = Vec::with_capacity(groups.len());
    for group in groups {
        shown.push(group_json(&app, group).await);
    }
    Ok(list_page(shown, next_token))
}

pub(crate) async fn get(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(group_id): Path<String>,
) -> Result<Json<Value>, V3Error> {
    let group = find_group(&app, &key_id, &group_id).await?;
    Ok(data(group_json(&app, &group).await))
}

/// `DELETE /v3/avatars/{group_id}` and `DELETE /v3/avatars/looks/{look_id}`
/// (one and the same here).
pub(crate) async fn delete(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(id): Path<String>,
) -> Result<Json<Value>, V3Error> {
    delete_avatar(&app, &key_id, &id).await?;
    Ok(data(json!({ "id": id, "deleted": true })))
}

pub(crate) async fn looks(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(params): Query<Params>,
) -> Result<Json<Value>, V3Error> {
    let group_id = params.get("group_id").map(|g| g.trim()).filter(|g| !g.is_empty());
    match params.get("avatar_type").map(|t| t.trim()).filter(|t| !t.is_empty()) {
        None | Some("photo_avatar") => {}
        Some("studio_avatar" | "digital_twin") => return Ok(list_page(Vec::new(), None)),
        Some(other) => {
            return Err(ApiError::invalid(
                "avatar_type",
                format!("'{other}' is not one of \"studio_avatar\", \"digital_twin\", \"photo_avatar\""),
            )
            .into());
        }
    }
    let mut groups = app.db.avatar_groups(&key_id).await?;
    groups.retain(|g| group_id.is_none_or(|id| g.id == id));
    let (groups, next_token) = page_of(&groups, |g| g.id.clone(), &params, PAGE.0, PAGE.1)?;
    let mut shown = Vec::with_capacity(groups.len());
    for group in groups {
        shown.push(look_json(&app, group).await);
    }
    Ok(list_page(shown, next_token))
}

pub(crate) async fn look(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(look_id): Path<String>,
) -> Result<Json<Value>, V3Error> {
    let group = find_group(&app, &key_id, &look_id).await?;
    Ok(data(look_json(&app, &group).await))
}

#[derive(Deserialize)]
pub(crate) struct UpdateLook {
    name: Option<String>,
}

/// `PATCH /v3/avatars/looks/{look_id}`: renames the look (and its group,
/// which is the same avatar here).
pub(crate) async fn update_look(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(look_id): Path<String>,
    V3Json(request): V3Json<UpdateLook>,
) -> Result<Json<Value>, V3Error> {
    let mut group = find_group(&app, &key_id, &look_id).await?;
    if let Some(name) = request.name.as_deref() {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::invalid("name", "give a name of 1 to 200 characters").into());
        }
        app.db.rename_avatar(&key_id, &group.id, name).await?;
        group.name = name.to_string();
    }
    Ok(data(look_json(&app, &group).await))
}
