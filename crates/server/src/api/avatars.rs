//! Photo avatars: creating a group from an uploaded photo, "training" it
//! (face analysis into a rig, done by a worker) and its training status.

use super::V2Json;
use super::assets::asset_id_of_image_key;
use crate::App;
use crate::auth::Tenant;
use crate::db::{AvatarGroup, new_id, now};
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
    let at = now();
    let group = AvatarGroup {
        id: new_id(),
        key_id,
        name: request.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| asset.name.clone()),
        image_asset_id: asset.id,
        status: "pending".into(),
        error_msg: None,
        rig_file: None,
        faces_found: None,
        created_at: at,
        updated_at: at,
        image_file: Some(asset.file.clone()),
    };
    app.db.insert_avatar_group(&group).await?;
    Ok(Json(json!({
        "error": null,
        "data": {
            "id": group.id,
            "name": group.name,
            "image_url": format!("{}/files/{}", app.public_url, asset.file),
            "status": group.status,
            "group_type": "PHOTO",
            "created_at": group.created_at,
        }
    })))
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
    if group.status != "ready" {
        app.db.set_avatar_status(&group.id, "pending", None).await?;
    }
    let job = app.db.enqueue(TRAIN_JOB, &group.id).await?;
    app.jobs_queued.notify_one();
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

async fn find_group(app: &App, key_id: &str, group_id: &str) -> Result<AvatarGroup, ApiError> {
    app.db
        .avatar_group(Some(key_id), group_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("avatar group '{group_id}' not found")))
}

fn image_url(app: &App, group: &AvatarGroup) -> String {
    group.image_file.as_ref().map(|file| format!("{}/files/{file}", app.public_url)).unwrap_or_default()
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
    Ok(Json(json!({"error": null, "data": {"avatar_list": [{
        "id": group.id,
        "name": group.name,
        "avatar_id": group.id,
        "avatar_name": group.name,
        "group_id": group.id,
        "image_url": image,
        "preview_image_url": image,
        "preview_video_url": "",
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
    let avatars: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({
                "avatar_id": g.id,
                "avatar_name": g.name,
                "gender": "unknown",
                "preview_image_url": image_url(&app, g),
                "preview_video_url": "",
                "premium": false,
                "type": "talking_photo",
            })
        })
        .collect();
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

/// `DELETE /v1/talking_photo/{id}`: the avatar and its rig go; the
/// uploaded photo and videos already made with it stay.
pub(crate) async fn delete_talking_photo(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(id): Path<String>,
) -> Result<Json<Value>, V1Error> {
    let group = app
        .db
        .delete_avatar_group(&key_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("talking photo '{id}' not found")))?;
    if let Some(rig) = &group.rig_file {
        if let Err(error) = app.store.delete(rig).await {
            tracing::warn!(%error, rig, "cannot remove the rig of a deleted avatar");
        }
    }
    Ok(Json(json!({"code": 100, "message": "Success", "data": null})))
}
