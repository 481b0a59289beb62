//! `POST /v3/videos/batches` (up to 100 video orders at once, all queued or
//! none), `GET /v3/videos/batches/{batch_id}` (the batch's state and a page
//! of its items) and `GET /v3/videos/statuses` (the status of videos named,
//! or of batches named). The videos of a batch are ordinary videos, seen and
//! deleted through `/v3/videos` and v1/v2 alike.

use super::videos::check_order;
use super::{Params, V3Json, data, list_page};
use crate::App;
use crate::auth::Tenant;
use crate::db::Video;
use crate::error::{ApiError, V3Error};
use crate::orders;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// Items a page of a batch holds unless the client asks otherwise, and at most.
const PAGE: usize = 100;

/// The most videos one batch may order.
const MAX_BATCH: usize = 100;

#[derive(Deserialize)]
pub(crate) struct CreateBatch {
    videos: Vec<Value>,
    title: Option<String>,
    callback_url: Option<String>,
}

/// `POST /v3/videos/batches`: up to 100 video orders, each checked as
/// `POST /v3/videos` checks one; all are queued, or none is.
pub(crate) async fn create(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    V3Json(request): V3Json<CreateBatch>,
) -> Result<(axum::http::StatusCode, Json<Value>), V3Error> {
    let count = request.videos.len();
    if count == 0 || count > MAX_BATCH {
        return Err(ApiError::invalid("videos", format!("{count} videos were given; give 1 to {MAX_BATCH}")).into());
    }
    let callback_url = request.callback_url.as_deref().filter(|u| !u.is_empty());
    if let Some(url) = callback_url {
        crate::outbound::check_param(url, app.allow_private_urls, "callback_url").await?;
    }
    orders::check_key(&app, &key_id, count).await?;
    let mut checked = Vec::with_capacity(count);
    for (index, body) in request.videos.iter().enumerate() {
        checked.push(check_order(&app, &key_id, body).await.map_err(|e| e.in_item(&format!("videos[{index}]")))?);
    }
    let batch = crate::db::Batch {
        id: crate::db::new_id(),
        key_id: key_id.clone(),
        title: request.title.clone(),
        total: count as i64,
        callback_url: callback_url.map(str::to_string),
        created_at: crate::db::now(),
    };
    app.db.insert_batch(&batch).await?;
    let mut video_ids = Vec::with_capacity(count);
    for (index, order) in checked.into_iter().enumerate() {
        video_ids.push(orders::queue(&app, &key_id, order, Some((&batch.id, index))).await?.video_id);
    }
    let reply = json!({"batch_id": batch.id, "status": "processing", "total_items": count, "video_ids": video_ids});
    Ok((axum::http::StatusCode::ACCEPTED, data(reply)))
}

/// A video's status as a batch item or a status list shows it.
fn item_status(video: &Video) -> &'static str {
    match video.status.as_str() {
        "processing" => "processing",
        "completed" => "completed",
        "failed" => "failed",
        _ => "queued",
    }
}

fn item_error(video: &Video) -> Value {
    match video.status.as_str() {
        "failed" => json!({"code": "rendering_failed", "message": video.error_message}),
        _ => Value::Null,
    }
}

/// `GET /v3/videos/batches/{batch_id}`: the batch's state and a page of its
/// items (the page inside `data`, as HeyGen has it).
pub(crate) async fn get(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(batch_id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, V3Error> {
    let batch = app
        .db
        .batch(&key_id, &batch_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("batch '{batch_id}' not found")))?;
    let videos = app.db.batch_videos(&batch.id).await?;
    let mut counts = serde_json::Map::new();
    for video in &videos {
        let entry = counts.entry(item_status(video)).or_insert(json!(0));
        *entry = json!(entry.as_u64().unwrap_or(0) + 1);
    }
    let finished = videos.iter().all(|v| matches!(v.status.as_str(), "completed" | "failed"));
    let status = match (finished, videos.iter().any(|v| v.status == "completed")) {
        (false, _) => "processing",
        (true, true) => "completed",
        (true, false) => "failed",
    };
    let Json(page) = super::page(
        &videos,
        |v| v.batch_index.unwrap_or(0).to_string(),
        &params,
        PAGE,
        PAGE,
        |v| json!({"item_index": v.batch_index, "status": item_status(v), "video_id": v.id, "error": item_error(v)}),
    )?;
    Ok(data(json!({
        "batch_id": batch.id,
        "title": batch.title,
        "status": status,
        "total_items": batch.total,
        "counts_by_status": counts,
        "created_at": batch.created_at,
        "items": page["data"],
        "has_more": page["has_more"],
        "next_token": page["next_token"],
    })))
}

/// `GET /v3/videos/statuses?video_ids=a,b&batch_ids=c`: the status of up to
/// 100 videos, named or of the batches named; an id of no video of the key
/// is `not_found`.
pub(crate) async fn statuses(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(params): Query<Params>,
) -> Result<Json<Value>, V3Error> {
    let ids = |name: &str| -> Vec<String> {
        params
            .get(name)
            .map(|v| v.split(',').map(str::trim).filter(|id| !id.is_empty()).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let (video_ids, batch_ids) = (ids("video_ids"), ids("batch_ids"));
    if video_ids.is_empty() && batch_ids.is_empty() {
        return Err(ApiError::invalid("video_ids", "give video_ids or batch_ids, separated by commas").into());
    }
    let mut items = Vec::new();
    for batch_id in &batch_ids {
        match app.db.batch(&key_id, batch_id).await? {
            Some(batch) => items.extend(app.db.batch_videos(&batch.id).await?.iter().map(status_item)),
            None => items.push(json!({"video_id": null, "batch_id": batch_id, "status": "not_found"})),
        }
    }
    for video_id in &video_ids {
        items.push(match app.db.video(Some(&key_id), video_id).await? {
            Some(video) => status_item(&video),
            None => json!({"video_id": video_id, "status": "not_found"}),
        });
    }
    if items.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "video_ids",
            format!("{} videos were asked for; at most {MAX_BATCH}", items.len()),
        )
        .into());
    }
    Ok(list_page(items, None))
}

fn status_item(video: &Video) -> Value {
    json!({
        "video_id": video.id,
        "status": video.status,
        "batch_id": video.batch_id,
        "item_index": video.batch_index,
        "error": item_error(video),
    })
}
