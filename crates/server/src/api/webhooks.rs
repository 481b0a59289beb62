//! `/v1/webhook/…`: registering the endpoints that receive video events.

use crate::App;
use crate::auth::Tenant;
use crate::error::{ApiError, V1Error};
use crate::webhooks::EVENTS;
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub(crate) struct AddEndpoint {
    url: String,
    events: Option<Vec<String>>,
}

pub(crate) async fn add(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    body: Result<Json<AddEndpoint>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, V1Error> {
    let Json(request) = body.map_err(|e| ApiError::bad_request(format!("invalid JSON body: {}", e.body_text())))?;
    let endpoint = crate::webhooks::register(&app, &key_id, request.url, request.events).await?;
    Ok(Json(json!({"code": 100, "message": "Success", "data": describe(&endpoint)})))
}

fn describe(endpoint: &crate::db::WebhookEndpoint) -> Value {
    json!({
        "endpoint_id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events.split(',').collect::<Vec<_>>(),
        "secret": endpoint.secret,
        "status": "enabled",
        "created_at": endpoint.created_at,
    })
}

pub(crate) async fn list(State(app): State<App>, Tenant(key_id): Tenant) -> Result<Json<Value>, V1Error> {
    let endpoints: Vec<Value> = app.db.webhook_endpoints(&key_id).await?.iter().map(describe).collect();
    Ok(Json(json!({"code": 100, "message": "Success", "data": endpoints})))
}

#[derive(Deserialize)]
pub(crate) struct DeleteQuery {
    endpoint_id: Option<String>,
}

pub(crate) async fn delete(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(query): Query<DeleteQuery>,
) -> Result<Json<Value>, V1Error> {
    let id = super::required("endpoint_id", query.endpoint_id)?;
    if !app.db.delete_webhook_endpoint(&key_id, &id).await? {
        return Err(ApiError::not_found(format!("webhook endpoint '{id}' not found")).into());
    }
    Ok(Json(json!({"code": 100, "message": "Success", "data": null})))
}

/// The events an endpoint can subscribe to.
pub(crate) async fn events(Tenant(_): Tenant) -> Json<Value> {
    let names: Vec<&str> = EVENTS.iter().map(|(name, _)| *name).collect();
    Json(json!({"code": 100, "message": "Success", "data": names}))
}
