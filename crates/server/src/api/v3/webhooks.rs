//! `/v3/webhooks/endpoints` (create, list, update, delete, rotate the
//! secret), `GET /v3/webhooks/event-types` and `GET /v3/webhooks/events`:
//! the same endpoints and delivery machinery as v1's `/v1/webhook/…` —
//! signed, retried, private addresses refused — in v3's shape. A secret is
//! shown only when it is made (create, rotate).

use super::{Params, V3Json, data, page};
use crate::App;
use crate::auth::Tenant;
use crate::db::WebhookEndpoint;
use crate::error::{ApiError, V3Error};
use crate::webhooks::{EVENTS, check_events, new_secret, register};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// Endpoints and events a page holds unless the client asks otherwise, and at most.
const PAGE: (usize, usize) = (10, 100);

/// Seconds since the epoch as ISO 8601, as v3 writes its webhook times.
fn iso(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn endpoint_json(endpoint: &WebhookEndpoint, with_secret: bool) -> Value {
    json!({
        "endpoint_id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events.split(',').collect::<Vec<_>>(),
        "secret": with_secret.then_some(&endpoint.secret),
        "status": "enabled",
        "created_at": iso(endpoint.created_at),
    })
}

#[derive(Deserialize)]
pub(crate) struct CreateEndpoint {
    url: String,
    events: Option<Vec<String>>,
}

pub(crate) async fn create(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    V3Json(request): V3Json<CreateEndpoint>,
) -> Result<Json<Value>, V3Error> {
    let endpoint = register(&app, &key_id, request.url, request.events).await?;
    Ok(data(endpoint_json(&endpoint, true)))
}

pub(crate) async fn list(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(params): Query<Params>,
) -> Result<Json<Value>, V3Error> {
    let endpoints = app.db.webhook_endpoints(&key_id).await?;
    Ok(page(&endpoints, |e| e.id.clone(), &params, PAGE.0, PAGE.1, |e| endpoint_json(e, false))?)
}

async fn find(app: &App, key_id: &str, id: &str) -> Result<WebhookEndpoint, ApiError> {
    app.db
        .webhook_endpoint(key_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("webhook endpoint '{id}' not found")))
}

#[derive(Deserialize)]
pub(crate) struct UpdateEndpoint {
    url: Option<String>,
    events: Option<Vec<String>>,
}

pub(crate) async fn update(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(id): Path<String>,
    V3Json(request): V3Json<UpdateEndpoint>,
) -> Result<Json<Value>, V3Error> {
    let mut endpoint = find(&app, &key_id, &id).await?;
    if let Some(url) = request.url {
        crate::outbound::check_param(&url, app.allow_private_urls, "url").await?;
        endpoint.url = url;
    }
    if request.events.is_some() {
        endpoint.events = check_events(request.events)?;
    }
    app.db.update_webhook_endpoint(&key_id, &endpoint).await?;
    Ok(data(endpoint_json(&endpoint, false)))
}

pub(crate) async fn delete(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(id): Path<String>,
) -> Result<Json<Value>, V3Error> {
    if !app.db.delete_webhook_endpoint(&key_id, &id).await? {
        return Err(ApiError::not_found(format!("webhook endpoint '{id}' not found")).into());
    }
    Ok(data(json!({ "id": id, "deleted": true })))
}

/// A new secret for an endpoint; deliveries are signed with it from now on.
pub(crate) async fn rotate_secret(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(id): Path<String>,
) -> Result<Json<Value>, V3Error> {
    let mut endpoint = find(&app, &key_id, &id).await?;
    endpoint.secret = new_secret();
    app.db.update_webhook_endpoint(&key_id, &endpoint).await?;
    Ok(data(json!({"endpoint_id": endpoint.id, "secret": endpoint.secret})))
}

pub(crate) async fn event_types(Tenant(_): Tenant, Query(params): Query<Params>) -> Result<Json<Value>, V3Error> {
    Ok(page(
        &EVENTS,
        |e| e.0.to_string(),
        &params,
        PAGE.1,
        PAGE.1,
        |(name, meaning)| json!({"event_type": name, "description": meaning}),
    )?)
}

/// What was announced to the key, newest first (`event_type`, `entity_id` filter).
pub(crate) async fn events(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(params): Query<Params>,
) -> Result<Json<Value>, V3Error> {
    let given = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let events = app.db.webhook_events(&key_id, given("event_type"), given("entity_id")).await?;
    Ok(page(
        &events,
        |e| e.id.clone(),
        &params,
        PAGE.0,
        PAGE.1,
        |e| {
            json!({
                "event_id": e.id,
                "event_type": e.event_type,
                "entity_id": e.entity_id,
                "event_data": serde_json::from_str::<Value>(&e.data).unwrap_or(Value::Null),
                "created_at": iso(e.created_at),
            })
        },
    )?)
}
