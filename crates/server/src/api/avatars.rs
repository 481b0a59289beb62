//! Photo avatars: creating a group from an uploaded photo, "training" it
//! (face analysis into a rig, done by a worker) and its training status.

use super::V2Json;
use super::assets::asset_id_of_image_key;
use crate::App;
use crate::auth::Tenant;
use crate::db::{AvatarGroup, new_id, now};
use crate::error::{ApiError, V2Error};
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
            "created_at": group.created_at,
            "updated_at": group.updated_at,
        }
    })))
}

async fn find_group(app: &App, key_id: &str, group_id: &str) -> Result<AvatarGroup, ApiError> {
    app.db
        .avatar_group(Some(key_id), group_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("avatar group '{group_id}' not found")))
}
