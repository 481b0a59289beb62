//! Webhooks: `avatar_video.success` and `avatar_video.fail` events, posted
//! to a key's registered endpoints and to a video's `callback_url`, and
//! `video_batch.finished` to a batch's `callback_url` once all its videos
//! have finished.
//!
//! Events are queued in the database when a video finishes and delivered by
//! one background task, so a slow or dead receiver never holds up a render;
//! a failed delivery is retried with exponential backoff. Every body is
//! signed: the `Signature` header is the hex HMAC-SHA256 of the body with the
//! endpoint's secret (for a `callback_url`, the secret is the hex SHA-256 of
//! the API key that asked for the video, which the client knows).

use crate::App;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::time::Duration;

pub(crate) const SUCCESS: &str = "avatar_video.success";
pub(crate) const FAIL: &str = "avatar_video.fail";
pub(crate) const EVENTS: [&str; 2] = [SUCCESS, FAIL];
/// Sent once to a batch's `callback_url` when all its videos have finished.
pub(crate) const BATCH_FINISHED: &str = "video_batch.finished";

/// Attempts before a delivery is given up.
pub(crate) const MAX_ATTEMPTS: i64 = 6;

pub(crate) fn sign(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Queues `event` for the video's tenant's endpoints and its callback_url.
pub(crate) async fn announce(
    app: &App,
    video_id: &str,
    event: &str,
    data: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let Some(target) = app.db.webhook_target(video_id).await? else { return Ok(()) };
    let body = serde_json::json!({"event_type": event, "event_data": data}).to_string();
    for endpoint in app.db.webhook_endpoints(&target.key_id).await? {
        if endpoint.events.split(',').any(|e| e == event) {
            app.db.enqueue_delivery(&endpoint.url, &endpoint.secret, &body).await?;
        }
    }
    if let Some(url) = target.callback_url {
        app.db.enqueue_delivery(&url, &target.key_hash, &body).await?;
    }
    // The last video of a batch to finish also tells the batch's callback.
    if let Some(batch) = app.db.batch_to_announce(video_id).await? {
        if let Some(url) = &batch.callback_url {
            let videos = app.db.batch_videos(&batch.id).await?;
            let completed = videos.iter().filter(|v| v.status == "completed").count();
            let data = serde_json::json!({
                "batch_id": batch.id,
                "title": batch.title,
                "total_items": batch.total,
                "counts_by_status": {"completed": completed, "failed": videos.len() - completed},
                "video_ids": videos.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
            });
            let body = serde_json::json!({"event_type": BATCH_FINISHED, "event_data": data}).to_string();
            app.db.enqueue_delivery(url, &target.key_hash, &body).await?;
        }
    }
    app.deliveries_queued.notify_one();
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
