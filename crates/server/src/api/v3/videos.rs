//! `GET /v3/videos/{video_id}`, `GET /v3/videos` (newest first, `title`
//! filter) and `DELETE /v3/videos/{video_id}`: the same videos as v1/v2's
//! (one made through either is seen through both), in v3's shape.

use super::{Params, data, limit, list_page};
use crate::App;
use crate::auth::Tenant;
use crate::db::Video;
use crate::error::{ApiError, V3Error};
use axum::Json;
use axum::extract::{Path, Query, State};
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
