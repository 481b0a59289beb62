//! Endpoints for operators, outside the HeyGen API and without a key:
//! `/healthz` (the process answers), `/readyz` (it can do work: the
//! database answers, the store takes files, ffmpeg is there) and
//! `/metrics` (Prometheus text format).

use crate::App;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub(crate) async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub(crate) async fn ready(State(app): State<App>) -> (StatusCode, Json<Value>) {
    let mut problems = Vec::new();
    if let Err(error) = app.db.ping().await {
        problems.push(format!("database: {error}"));
    }
    let probe = format!("probes/ready-{}", crate::db::new_id());
    match app.store.put(&probe, b"ok").await {
        Ok(()) => {
            let _ = app.store.delete(&probe).await;
        }
        Err(error) => problems.push(format!("store: {error}")),
    }
    if let Err(error) = tokio::task::spawn_blocking(media::check_tools)
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        problems.push(format!("tools: {error}"));
    }
    if problems.is_empty() {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "not ready", "problems": problems})))
    }
}

pub(crate) async fn metrics(State(app): State<App>) -> impl IntoResponse {
    let counts = app.db.job_counts().await.unwrap_or_else(|error| {
        tracing::error!(%error, "cannot count jobs for /metrics");
        Vec::new()
    });
    let live_workers = app.db.live_workers().await.unwrap_or_else(|error| {
        tracing::error!(%error, "cannot count workers for /metrics");
        0
    });
    app.metrics.live_sessions.set(app.live.held() as i64);
    app.metrics.live_capacity.set(app.live.capacity as i64);
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        app.metrics.render(&counts, live_workers),
    )
}
