//! Photo avatars: creating a group from an uploaded photo, "training" it
//! (face analysis into a rig, done by a worker) and its training status.

use super::V2Json;
use super::assets::asset_id_of_image_key;
use crate::App;
use crate::auth::Tenant;
use crate::db::{Asset, AvatarGroup};
use crate::error::{ApiError, V1Error, V2Error};
use crate::worker::TRAIN_JOB;
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub(crate) struct CreateGroup {
    name: Option<String>,
    image_key: String,
}

pub(crate) async fn create_group(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    V2Json(request): V2Json<CreateGroup>,
) -> Result<Json<Value>, V2Error> {
    let asset_id = asset_id_of_image_key(&request.image_key);
    let asset =
        app.db.asset(&key_id, asset_id).await?.ok_or_else(|| {
            ApiError::not_found(format!("image_key '{}' matches no uploaded image", request.image_key))
        })?;
    if asset.file_type != "image" {
        return Err(ApiError::bad_request(format!("asset {} is {}, not an image", asset.id, asset.file_type)).into());
    }
    let file = asset.file.clone();
    let group = create_avatar(&app, &key_id, asset, request.name).await?;
    Ok(Json(json!({
        "error": null,
        "data": {
            "id": group.id,
            "name": group.name,
            "image_url": format!("{}/files/{file}", app.public_url),
            "status": group.status,
            "group_type": "PHOTO",
            "created_at": group.created_at,
        }
    })))
}

/// A new avatar (a group with one look) of an uploaded photo, not trained yet.
pub(crate) async fn create_avatar(
    app: &App,
    key_id: &str,
    photo: Asset,
    name: Option<String>,
) -> Result<AvatarGroup, ApiError> {
    let name = name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| photo.name.clone());
    let group = AvatarGroup::new(key_id, &photo, name, true);
    app.db.insert_avatar_group(&group).await?;
    Ok(group)
}

/// Queues an avatar's training (face analysis); returns the job's id.
pub(crate) async fn start_training(app: &App, group: &AvatarGroup) -> Result<i64, ApiError> {
    if group.status != "ready" {
        app.db.set_avatar_status(&group.id, "pending", None).await?;
    }
    let job = app.db.enqueue(TRAIN_JOB, &group.id, &group.key_id).await?;
    app.jobs_queued.notify_one();
    Ok(job)
}

#[derive(Deserialize)]
pub(crate) struct Train {
    group_id: String,
}

pub(crate) async fn train(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    V2Json(request): V2Json<Train>,
) -> Result<Json<Value>, V2Error> {
    let group = find_group(&app, &key_id, &request.group_id).await?;
    let job = start_training(&app, &group).await?;
    Ok(Json(json!({"error": null, "data": {"flow_id": job.to_string()}})))
}

pub(crate) async fn train_status(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(group_id): Path<String>,
) -> Result<Json<Value>, V2Error> {
    let group = find_group(&app, &key_id, &group_id).await?;
    Ok(Json(json!({
        "error": null,
        "data": {
            "status": group.status,
            "error_msg": group.error_msg,
            "faces_found": group.faces_found,
            "face_outline": face_outline(&app, &group).await,
            "created_at": group.created_at,
            "updated_at": group.updated_at,
        }
    })))
}

/// The outline of the animated face once the group is trained, as points
/// in fractions of the photo's width and height (our own field, for the web
/// page to draw; strict clients ignore it).
async fn face_outline(app: &App, group: &AvatarGroup) -> Option<Vec<[f32; 2]>> {
    let json = app.store.get(group.rig_file.as_ref()?).await.ok()?;
    let rig: face::Rig = serde_json::from_slice(&json).ok()?;
    let (width, height) = (rig.width as f32, rig.height as f32);
    face::mesh::FACE_OVAL.iter().map(|&i| rig.vertices.get(i).map(|p| [p[0] / width, p[1] / height])).collect()
}

pub(crate) async fn find_group(app: &App, key_id: &str, group_id: &str) -> Result<AvatarGroup, ApiError> {
    app.db
        .avatar_group(Some(key_id), group_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("avatar group '{group_id}' not found")))
}

pub(crate) fn image_url(app: &App, group: &AvatarGroup) -> String {
    group.image_file.as_ref().map(|file| format!("{}/files/{file}", app.public_url)).unwrap_or_default()
}

/// The avatar's idle clip, rendered once it is trained; none before.
pub(crate) async fn preview_video_url(app: &App, group: &AvatarGroup) -> Option<String> {
    Some(app.store.url(&app.public_url, group.preview_video_file.as_ref()?).await)
}

/// A look's `preview_video_url` as v2 clients read it: always an absolute
/// URL (strict clients refuse an empty one), the photo until the idle clip
/// is rendered.
async fn v2_preview_video_url(app: &App, group: &AvatarGroup) -> String {
    preview_video_url(app, group).await.unwrap_or_else(|| image_url(app, group))
}

/// `GET /v2/avatar_group.list`: the tenant's photo avatar groups.
pub(crate) async fn list_groups(State(app): State<App>, Tenant(key_id): Tenant) -> Result<Json<Value>, V2Error> {
    let groups = app.db.avatar_groups(&key_id).await?;
    let list: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({
                "id": g.id,
                "name": g.name,
                "group_type": "PHOTO",
                "created_at": g.created_at,
                "num_looks": 1,
                "preview_image": image_url(&app, g),
                "train_status": g.status,
            })
        })
        .collect();
    Ok(Json(json!({"error": null, "data": {"total_count": list.len(), "avatar_group_list": list}})))
}

/// `GET /v2/avatar_group/{group_id}/avatars`: a group's looks. A photo
/// group has one look, the photo itself, whose id is the group's.
pub(crate) async fn group_avatars(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(group_id): Path<String>,
) -> Result<Json<Value>, V2Error> {
    let group = find_group(&app, &key_id, &group_id).await?;
    let image = image_url(&app, &group);
    let preview = v2_preview_video_url(&app, &group).await;
    Ok(Json(json!({"error": null, "data": {"avatar_list": [{
        "id": group.id,
        "name": group.name,
        "avatar_id": group.id,
        "avatar_name": group.name,
        "group_id": group.id,
        "image_url": image,
        "preview_image_url": image,
        "preview_video_url": preview,
        "gender": "unknown",
        "premium": false,
        "status": group.status,
        "created_at": group.created_at,
    }]}})))
}

/// `GET /v2/avatars`: the tenant's talking photos, both as avatars (for
/// clients that only know avatars) and as talking photos.
pub(crate) async fn list_avatars(State(app): State<App>, Tenant(key_id): Tenant) -> Result<Json<Value>, V2Error> {
    let groups = app.db.avatar_groups(&key_id).await?;
    let mut avatars = Vec::with_capacity(groups.len());
    for g in &groups {
        avatars.push(json!({
            "avatar_id": g.id,
            "avatar_name": g.name,
            "gender": "unknown",
            "preview_image_url": image_url(&app, g),
            "preview_video_url": v2_preview_video_url(&app, g).await,
            "premium": false,
            "type": "talking_photo",
        }));
    }
    let talking_photos: Vec<Value> = groups
        .iter()
        .map(|g| json!({"talking_photo_id": g.id, "talking_photo_name": g.name, "preview_image_url": image_url(&app, g)}))
        .collect();
    Ok(Json(json!({"error": null, "data": {"avatars": avatars, "talking_photos": talking_photos}})))
}

/// `GET /v1/talking_photo.list`.
pub(crate) async fn list_talking_photos(
    State(app): State<App>,
    Tenant(key_id): Tenant,
) -> Result<Json<Value>, V1Error> {
    let groups = app.db.avatar_groups(&key_id).await?;
    let list: Vec<Value> = groups
        .iter()
        .map(|g| json!({"id": g.id, "image_url": image_url(&app, g), "circle_image": image_url(&app, g)}))
        .collect();
    Ok(Json(json!({"code": 100, "message": "Success", "data": list})))
}

/// Removes an avatar with its rig and idle clip; the uploaded photo and the
/// videos already made with it stay.
pub(crate) async fn delete_avatar(app: &App, key_id: &str, id: &str) -> Result<(), ApiError> {
    let group = app
        .db
        .delete_avatar_group(key_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("avatar '{id}' not found")))?;
    for file in [&group.rig_file, &group.preview_video_file].into_iter().flatten() {
        if let Err(error) = app.store.delete(file).await {
            tracing::warn!(%error, file, "cannot remove a file of a deleted avatar");
        }
    }
    Ok(())
}

/// `DELETE /v1/talking_photo/{id}`.
pub(crate) async fn delete_talking_photo(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(id): Path<String>,
) -> Result<Json<Value>, V1Error> {
    delete_avatar(&app, &key_id, &id).await?;
    Ok(Json(json!({"code": 100, "message": "Success", "data": null})))
}

/// `DELETE /v2/photo_avatar/{id}` and `DELETE /v2/talking_photo/{id}`.
pub(crate) async fn delete_photo_avatar(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(id): Path<String>,
) -> Result<Json<Value>, V2Error> {
    delete_avatar(&app, &key_id, &id).await?;
    Ok(Json(json!({"error": null, "data": {"id": id, "deleted": true}})))
}
