//! Webhooks: `avatar_video.success` and `avatar_video.fail` events, posted
//! to a key's registered endpoints and to a video's `callback_url`, and
//! `batch.finished` to subscribed endpoints and a batch's `callback_url`
//! once all its videos have finished.
//!
//! Events are queued in the database when a video finishes and delivered by
//! one background task, so a slow or dead receiver never holds up a render;
//! a failed delivery is retried with exponential backoff. Every body is
//! signed: the `Signature` header is the hex HMAC-SHA256 of the body with the
//! endpoint's secret (for a `callback_url`, the secret is the hex SHA-256 of
//! the API key that asked for the video, which the client knows).

use crate::App;
use crate::db::WebhookEndpoint;
use crate::error::ApiError;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::time::Duration;

pub(crate) const SUCCESS: &str = "avatar_video.success";
pub(crate) const FAIL: &str = "avatar_video.fail";
/// Sent once when all the videos of a batch have finished (to endpoints
/// that subscribe to it and to the batch's `callback_url`).
pub(crate) const BATCH_FINISHED: &str = "batch.finished";
/// The events an endpoint may subscribe to, with what they mean.
pub(crate) const EVENTS: [(&str, &str); 3] = [
    (SUCCESS, "A video finished; its files are ready"),
    (FAIL, "A video could not be made; msg says why"),
    (BATCH_FINISHED, "Every video of a batch has finished, made or failed"),
];

/// Upper bound on endpoints per key, so one key cannot fan a video out without end.
const MAX_ENDPOINTS: usize = 20;

/// Checks the events an endpoint subscribes to; all of them when `None`.
pub(crate) fn check_events(events: Option<Vec<String>>) -> Result<String, ApiError> {
    let names: Vec<&str> = EVENTS.iter().map(|(name, _)| *name).collect();
    let events = events.unwrap_or_else(|| names.iter().map(|e| e.to_string()).collect());
    if events.is_empty() {
        return Err(ApiError::invalid("events", format!("is empty; name at least one of {}", names.join(", "))));
    }
    if let Some(unknown) = events.iter().find(|e| !names.contains(&e.as_str())) {
        return Err(ApiError::invalid("events", format!("'{unknown}' is not one of {}", names.join(", "))));
    }
    Ok(events.join(","))
}

/// A new signing secret.
pub(crate) fn new_secret() -> String {
    format!("whsec_{}", crate::db::new_id())
}

/// Registers an endpoint for a key, after checking its URL (no private
/// addresses unless allowed) and events.
pub(crate) async fn register(
    app: &App,
    key_id: &str,
    url: String,
    events: Option<Vec<String>>,
) -> Result<WebhookEndpoint, ApiError> {
    crate::outbound::check_param(&url, app.allow_private_urls, "url").await?;
    let events = check_events(events)?;
    if app.db.webhook_endpoints(key_id).await?.len() >= MAX_ENDPOINTS {
        return Err(ApiError::bad_request(format!("a key may register at most {MAX_ENDPOINTS} endpoints")));
    }
    let endpoint =
        WebhookEndpoint { id: crate::db::new_id(), url, secret: new_secret(), events, created_at: crate::db::now() };
    app.db.insert_webhook_endpoint(key_id, &endpoint).await?;
    Ok(endpoint)
}

/// Attempts before a delivery is given up.
pub(crate) const MAX_ATTEMPTS: i64 = 6;

pub(crate) fn sign(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Queues `event` for the video's tenant's endpoints and its callback_url,
/// and records it among the tenant's events.
pub(crate) async fn announce(
    app: &App,
    video_id: &str,
    event: &str,
    data: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let Some(target) = app.db.webhook_target(video_id).await? else { return Ok(()) };
    send(app, &target, event, video_id, &data, target.callback_url.as_deref()).await?;
    // The last video of a batch to finish also tells of the batch.
    if let Some(batch) = app.db.batch_to_announce(video_id).await? {
        let videos = app.db.batch_videos(&batch.id).await?;
        let completed = videos.iter().filter(|v| v.status == "completed").count();
        let data = serde_json::json!({
            "batch_id": batch.id,
            "title": batch.title,
            "total_items": batch.total,
            "counts_by_status": {"completed": completed, "failed": videos.len() - completed},
            "video_ids": videos.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        });
        send(app, &target, BATCH_FINISHED, &batch.id, &data, batch.callback_url.as_deref()).await?;
    }
    app.deliveries_queued.notify_one();
    Ok(())
}

/// Records `event` about `entity_id` for the target's key and queues it for
/// the key's endpoints that subscribe to it and for `callback_url` (signed
/// with the hash of the key).
async fn send(
    app: &App,
    target: &crate::db::WebhookTarget,
    event: &str,
    entity_id: &str,
    data: &serde_json::Value,
    callback_url: Option<&str>,
) -> Result<(), sqlx::Error> {
    let body = serde_json::json!({"event_type": event, "event_data": data}).to_string();
    app.db.insert_webhook_event(&target.key_id, event, entity_id, &data.to_string()).await?;
    for endpoint in app.db.webhook_endpoints(&target.key_id).await? {
        if endpoint.events.split(',').any(|e| e == event) {
            app.db.enqueue_delivery(&endpoint.url, &endpoint.secret, &body).await?;
        }
    }
    if let Some(url) = callback_url {
        app.db.enqueue_delivery(url, &target.key_hash, &body).await?;
    }
    Ok(())
}

/// Posts one delivery. The URL is checked again and the connection pinned
/// to the checked address (`outbound`): a name that resolved to a public
/// address when it was registered may not point inside later.
async fn deliver(app: &App, delivery: &crate::db::Delivery) -> Result<(), String> {
    let (client, url) = crate::outbound::client_for(&delivery.url, app.allow_private_urls, DELIVERY_TIMEOUT).await?;
    let response = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("Signature", sign(&delivery.secret, &delivery.body))
        .body(delivery.body.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", response.status())) }
}

/// How long one delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Delivers due webhooks until the process ends.
pub(crate) async fn run(app: App) {
    loop {
        match app.db.due_delivery().await {
            Ok(Some(delivery)) => {
                let error = deliver(&app, &delivery).await.err();
                if let Some(message) = &error {
                    tracing::warn!(url = %delivery.url, attempt = delivery.attempts, %message, "webhook delivery failed");
                }
                if let Err(e) = app.db.finish_delivery(delivery.id, delivery.attempts, error.as_deref()).await {
                    tracing::error!(error = %e, "cannot record a webhook delivery");
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = app.deliveries_queued.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
            Err(error) => {
                tracing::error!(%error, "cannot read webhook deliveries");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
