//! The repository: every SQL statement of the service lives here, behind
//! methods named for what they mean. One SQL text serves both databases
//! through sqlx's `Any` driver (placeholders are `$1`, `$2` … which SQLite
//! and Postgres both read); where the two differ — the schema, how a job is
//! claimed, how idle workers hear of new jobs — [`Backend`] picks the right
//! statement. SQLite is the embedded default; Postgres is for several
//! processes on several machines.

use rand::RngCore;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Executor, FromRow};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Seconds a job's claim lasts without a heartbeat.
pub(crate) const LEASE_SECONDS: i64 = 30;
/// Attempts before a job is given up as failed.
pub(crate) const MAX_ATTEMPTS: i64 = 3;
/// The Postgres channel a new job is announced on.
const JOBS_CHANNEL: &str = "mouthpiece_jobs";

/// The claim statement up to its sub-select's end, shared by both databases.
/// Of the jobs that are due, it takes the one whose key has the fewest jobs
/// running, then whose key waited longest since a job of it was last
/// claimed (a key never claimed first), then the oldest: keys take turns,
/// so one key's hundred queued videos do not hold up another key's one.
/// (`$3` is now, `$4` the claim time in sub-seconds for the turn order.)
macro_rules! claim_job_sql {
    () => {
        "UPDATE jobs SET state = 'running', worker_id = $1, lease_until = $2, attempts = attempts + 1, claimed_at = $4
         WHERE id = (SELECT j.id FROM jobs j
                     WHERE (j.state = 'queued' AND j.run_after <= $3) OR (j.state = 'running' AND j.lease_until < $3)
                     ORDER BY (SELECT COUNT(*) FROM jobs r
                               WHERE r.key_id = j.key_id AND r.state = 'running' AND r.lease_until >= $3),
                              COALESCE((SELECT MAX(c.claimed_at) FROM jobs c WHERE c.key_id = j.key_id), 0),
                              j.id
                     LIMIT 1"
    };
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Milliseconds since the epoch: the order in which jobs were claimed.
fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Which database is behind the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file in the data directory: one machine, nothing to run.
    Sqlite,
    /// A shared server: any number of front ends and workers.
    Postgres,
}

/// The embedded default: `mouthpiece.db` in the data directory.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("mouthpiece.db").display())
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    url: String,
}

/// A live session never started within this many seconds of being asked
/// for is dropped (its token expires).
pub(crate) const LIVE_START_WITHIN: i64 = 600;

/// The condition of a live session still open (`$2` is now minus
/// [`LIVE_START_WITHIN`]), for `concat!` into a statement.
macro_rules! live_session_open {
    () => {
        "ended_at IS NULL AND (host_id IS NOT NULL OR created_at > $2)"
    };
}

/// A live avatar session as every process of a deployment sees it.
#[derive(Debug, Clone, FromRow)]
pub(crate) struct LiveSessionRow {
    pub id: String,
    pub key_id: String,
    pub token_hash: String,
    pub avatar_id: String,
    pub mode: String,
    pub voice_id: String,
    pub video_quality: String,
    pub state: String,
    pub viewers: i64,
    /// The process running it, once started, and where it answers.
    pub host_id: Option<String>,
    pub host_url: Option<String>,
    pub max_seconds: Option<i64>,
    pub created_at: i64,
}

/// A process that hosts live sessions.
#[derive(Debug, Clone, FromRow)]
pub(crate) struct LiveHost {
    pub id: String,
    pub public_url: String,
    pub live_capacity: i64,
    /// Sessions placed on it that have not ended.
    pub placed: i64,
}

/// What a process announces of itself in the registry.
pub(crate) struct ProcessSeen<'a> {
    pub id: &'a str,
    pub host: &'a str,
    /// Render workers.
    pub threads: i64,
    /// Where its live sessions' WHEP and WebSocket endpoints answer.
    pub public_url: Option<&'a str>,
    pub live_capacity: i64,
    pub live_held: i64,
}

#[derive(Debug, Clone, FromRow)]
pub(crate) struct Asset {
    pub id: String,
    pub name: String,
    pub file_type: String,
    pub file: String,
}

/// An asset with what v3 shows of it.
#[derive(Debug, Clone, FromRow)]
pub(crate) struct AssetInfo {
    pub id: String,
    pub name: String,
    pub file_type: String,
    pub file: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub(crate) struct AvatarGroup {
    pub id: String,
    pub key_id: String,
    pub name: String,
    pub image_asset_id: String,
    pub status: String,
    pub error_msg: Option<String>,
    pub rig_file: Option<String>,
    pub faces_found: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The stored photo, when the query joins it in.
    #[sqlx(default)]
    pub image_file: Option<String>,
    /// 1 when the tenant's lists show it (0: a photo given with an order).
    #[sqlx(default)]
    pub listed: i64,
    /// The idle clip rendered after training, and the photo's size.
    #[sqlx(default)]
    pub preview_video_file: Option<String>,
    #[sqlx(default)]
    pub image_width: Option<i64>,
    #[sqlx(default)]
    pub image_height: Option<i64>,
}

impl AvatarGroup {
    /// A new, untrained avatar of an uploaded photo; `listed` says whether
    /// the tenant's avatar lists show it.
    pub(crate) fn new(key_id: &str, photo: &Asset, name: String, listed: bool) -> AvatarGroup {
        let at = now();
        AvatarGroup {
            id: new_id(),
            key_id: key_id.to_string(),
            name,
            image_asset_id: photo.id.clone(),
            status: "pending".into(),
            error_msg: None,
            rig_file: None,
            faces_found: None,
            created_at: at,
            updated_at: at,
            image_file: Some(photo.file.clone()),
            listed: i64::from(listed),
            preview_video_file: None,
            image_width: None,
            image_height: None,
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub(crate) struct Video {
    pub id: String,
    pub key_id: String,
    pub title: Option<String>,
    pub status: String,
    pub request: String,
    pub progress: f64,
    pub error_code: Option<i64>,
    pub error_message: Option<String>,
    pub video_file: Option<String>,
    pub thumbnail_file: Option<String>,
    pub gif_file: Option<String>,
    pub caption_file: Option<String>,
    pub captioned_video_file: Option<String>,
    pub duration: Option<f64>,
    pub callback_id: Option<String>,
    pub started_at: Option<i64>,
    pub created_at: i64,
    /// When the row last changed: for a finished video, when it finished.
    pub updated_at: i64,
    /// The batch the video was ordered in, and its place there.
    pub batch_id: Option<String>,
    pub batch_index: Option<i64>,
}

/// Videos ordered in one call (`POST /v3/videos/batches`).
#[derive(Debug, Clone, FromRow)]
pub(crate) struct Batch {
    pub id: String,
    pub key_id: String,
    pub title: Option<String>,
    pub total: i64,
    pub callback_url: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub(crate) struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub events: String,
    pub created_at: i64,
}

/// An event announced to a key.
#[derive(Debug, Clone, FromRow)]
pub(crate) struct WebhookEvent {
    pub id: String,
    pub event_type: String,
    pub entity_id: String,
    pub data: String,
    pub created_at: i64,
}

/// Who hears about a video: its tenant (and the hash of its key, the
/// callback secret) and the callback_url it asked for.
#[derive(Debug, Clone, FromRow)]
pub(crate) struct WebhookTarget {
    pub key_id: String,
    pub key_hash: String,
    pub callback_url: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub(crate) struct Delivery {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub body: String,
    pub attempts: i64,
}

/// The stored files of a finished video.
pub(crate) struct VideoFiles<'a> {
    pub video: &'a str,
    pub thumbnail: &'a str,
    pub gif: &'a str,
    /// The SRT captions and the copy of the video with them drawn in.
    pub captions: Option<(&'a str, &'a str)>,
}

#[derive(Debug, Clone, FromRow)]
pub(crate) struct Job {
    pub id: i64,
    pub kind: String,
    pub target_id: String,
    pub attempts: i64,
}

impl Db {
    /// Connects to the database at `url` (`sqlite://…` or `postgres://…`)
    /// and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Db, crate::ServerError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(crate::ServerError::Config(format!(
                "the database URL must start with sqlite:// or postgres://, not '{}'",
                url.split(':').next().unwrap_or(url)
            )));
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                // The file is created if missing; its folder must exist.
                let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
                let path = Path::new(path.split('?').next().unwrap_or(path));
                if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
                    std::fs::create_dir_all(folder)?;
                }
                // Concurrent readers beside one writer, and writers that wait
                // for each other instead of failing.
                options
                    .max_connections(8)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection
                                .execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                                )
                                .await
                                .map(|_| ())
                        })
                    })
                    .connect(url)
                    .await?
            }
            Backend::Postgres => {
                // One plain connection first: a wrong address or password is
                // reported as it is, where the pool would only say it timed out.
                use sqlx::Connection;
                sqlx::AnyConnection::connect(url).await?.close().await?;
                options.max_connections(16).connect(url).await?
            }
        };
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        Ok(Db { pool, backend, url: url.to_string() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The migrations applied to this database: (version, description).
    pub(crate) async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, sqlx::Error> {
        sqlx::query_as("SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&self.pool)
            .await
    }

    // --- keys ---

    pub(crate) async fn create_key(&self, name: &str, quota_seconds: Option<i64>) -> Result<String, sqlx::Error> {
        let mut secret = [0u8; 24];
        rand::rng().fill_bytes(&mut secret);
        let key = format!("mp_{}", hex::encode(secret));
        sqlx::query("INSERT INTO api_keys (id, name, key_hash, created_at, quota_seconds) VALUES ($1, $2, $3, $4, $5)")
            .bind(new_id())
            .bind(name)
            .bind(crate::auth::hash_key(&key))
            .bind(now())
            .bind(quota_seconds)
            .execute(&self.pool)
            .await?;
        Ok(key)
    }

    /// Every key with its quota and the seconds of video it has made.
    pub(crate) async fn keys(&self) -> Result<Vec<crate::KeyInfo>, sqlx::Error> {
        self.keys_where(None).await
    }

    pub(crate) async fn key(&self, id: &str) -> Result<Option<crate::KeyInfo>, sqlx::Error> {
        Ok(self.keys_where(Some(id)).await?.pop())
    }

    /// Keys with their use, all of them or the one with `id` (asked on every generate).
    async fn keys_where(&self, id: Option<&str>) -> Result<Vec<crate::KeyInfo>, sqlx::Error> {
        sqlx::query_as(
            "SELECT k.id, k.name, k.created_at, k.revoked_at, k.quota_seconds,
                    COALESCE((SELECT SUM(v.duration) FROM videos v WHERE v.key_id = k.id AND v.status = 'completed'), 0.0) AS used_seconds
             FROM api_keys k WHERE $1 IS NULL OR k.id = $1 ORDER BY k.created_at, k.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
    }

    /// Revokes a key; false if there is no such key or it was already revoked.
    pub(crate) async fn revoke_key(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn key_id_for_hash(&self, hash: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
    }

    // --- assets ---

    pub(crate) async fn insert_asset(
        &self,
        key_id: &str,
        asset: &Asset,
        content_type: &str,
        size: u64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO assets (id, key_id, name, file_type, content_type, file, size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&asset.id)
        .bind(key_id)
        .bind(&asset.name)
        .bind(&asset.file_type)
        .bind(content_type)
        .bind(&asset.file)
        .bind(size as i64)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn asset(&self, key_id: &str, id: &str) -> Result<Option<Asset>, sqlx::Error> {
        sqlx::query_as("SELECT id, name, file_type, file FROM assets WHERE id = $1 AND key_id = $2")
            .bind(id)
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// The tenant's assets, newest first.
    pub(crate) async fn assets(&self, key_id: &str) -> Result<Vec<AssetInfo>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, name, file_type, file, content_type, size, created_at FROM assets WHERE key_id = $1
             ORDER BY created_at DESC, id",
        )
        .bind(key_id)
        .fetch_all(&self.pool)
        .await
    }

    pub(crate) async fn asset_info(&self, key_id: &str, id: &str) -> Result<Option<AssetInfo>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, name, file_type, file, content_type, size, created_at FROM assets WHERE id = $1 AND key_id = $2",
        )
        .bind(id)
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// An avatar whose photo is the asset `id`, if any.
    pub(crate) async fn avatar_of_photo(&self, key_id: &str, id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM avatar_groups WHERE image_asset_id = $1 AND key_id = $2 LIMIT 1")
            .bind(id)
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await
    }

    pub(crate) async fn delete_asset(&self, key_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM assets WHERE id = $1 AND key_id = $2")
            .bind(id)
            .bind(key_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // --- avatar groups ---

    /// A new avatar group; one not `listed` (a photo given with a video
    /// order) is left out of the tenant's avatar lists.
    pub(crate) async fn insert_avatar_group(&self, group: &AvatarGroup) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO avatar_groups (id, key_id, name, image_asset_id, status, created_at, updated_at, listed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&group.id)
        .bind(&group.key_id)
        .bind(&group.name)
        .bind(&group.image_asset_id)
        .bind(&group.status)
        .bind(group.created_at)
        .bind(group.updated_at)
        .bind(group.listed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An avatar group; `key_id` None reads any tenant's (for workers).
    pub(crate) async fn avatar_group(
        &self,
        key_id: Option<&str>,
        id: &str,
    ) -> Result<Option<AvatarGroup>, sqlx::Error> {
        sqlx::query_as(
            "SELECT g.*, a.file AS image_file FROM avatar_groups g LEFT JOIN assets a ON a.id = g.image_asset_id
             WHERE g.id = $1 AND ($2 IS NULL OR g.key_id = $2)",
        )
        .bind(id)
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await
    }

    pub(crate) async fn set_avatar_status(
        &self,
        id: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE avatar_groups SET status = $1, error_msg = $2, updated_at = $3 WHERE id = $4")
            .bind(status)
            .bind(error)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn set_avatar_rig(&self, id: &str, rig_file: &str, rig: &face::Rig) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE avatar_groups SET status = 'ready', error_msg = NULL, rig_file = $1, faces_found = $2, updated_at = $3,
             image_width = $4, image_height = $5 WHERE id = $6",
        )
        .bind(rig_file)
        .bind(rig.faces_found as i64)
        .bind(now())
        .bind(i64::from(rig.width))
        .bind(i64::from(rig.height))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn set_avatar_preview(&self, id: &str, file: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE avatar_groups SET preview_video_file = $1 WHERE id = $2")
            .bind(file)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Renames an avatar; false if the tenant has no such avatar.
    pub(crate) async fn rename_avatar(&self, key_id: &str, id: &str, name: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE avatar_groups SET name = $1, updated_at = $2 WHERE id = $3 AND key_id = $4")
            .bind(name)
            .bind(now())
            .bind(id)
            .bind(key_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // --- videos ---

    /// A new pending video; `callback` is its (callback_id, callback_url),
    /// `batch` the batch it belongs to and its place there.
    pub(crate) async fn insert_video(
        &self,
        id: &str,
        key_id: &str,
        request: &str,
        callback: (Option<&str>, Option<&str>),
        title: Option<&str>,
        batch: Option<(&str, usize)>,
    ) -> Result<(), sqlx::Error> {
        let at = now();
        let (batch_id, batch_index) = batch.map(|(id, index)| (id, index as i64)).unzip();
        sqlx::query(
            "INSERT INTO videos (id, key_id, status, request, callback_id, callback_url, title, created_at, updated_at, batch_id, batch_index)
             VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(key_id)
        .bind(request)
        .bind(callback.0)
        .bind(callback.1)
        .bind(title)
        .bind(at)
        .bind(at)
        .bind(batch_id)
        .bind(batch_index)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // --- batches ---

    pub(crate) async fn insert_batch(&self, batch: &Batch) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO video_batches (id, key_id, title, total, callback_url, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&batch.id)
        .bind(&batch.key_id)
        .bind(&batch.title)
        .bind(batch.total)
        .bind(&batch.callback_url)
        .bind(batch.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn batch(&self, key_id: &str, id: &str) -> Result<Option<Batch>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, key_id, title, total, callback_url, created_at FROM video_batches WHERE id = $1 AND key_id = $2",
        )
        .bind(id)
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// The videos of a batch still there (not deleted), in their order.
    pub(crate) async fn batch_videos(&self, batch_id: &str) -> Result<Vec<Video>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM videos WHERE batch_id = $1 ORDER BY batch_index")
            .bind(batch_id)
            .fetch_all(&self.pool)
            .await
    }

    /// The batch of a video, once every video of it has finished, for the
    /// one process that gets to announce it (the update is atomic, so two
    /// workers finishing its last two videos together do not both).
    pub(crate) async fn batch_to_announce(&self, video_id: &str) -> Result<Option<Batch>, sqlx::Error> {
        sqlx::query_as(
            "UPDATE video_batches SET announced_at = $1
             WHERE id = (SELECT batch_id FROM videos WHERE id = $2) AND announced_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM videos WHERE batch_id = video_batches.id AND status NOT IN ('completed', 'failed'))
             RETURNING id, key_id, title, total, callback_url, created_at",
        )
        .bind(now())
        .bind(video_id)
        .fetch_optional(&self.pool)
        .await
    }

    // --- webhooks ---

    pub(crate) async fn insert_webhook_endpoint(
        &self,
        key_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, key_id, url, secret, events, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&endpoint.id)
        .bind(key_id)
        .bind(&endpoint.url)
        .bind(&endpoint.secret)
        .bind(&endpoint.events)
        .bind(endpoint.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn webhook_endpoints(&self, key_id: &str) -> Result<Vec<WebhookEndpoint>, sqlx::Error> {
        sqlx::query_as("SELECT id, url, secret, events, created_at FROM webhook_endpoints WHERE key_id = $1 ORDER BY created_at, id")
            .bind(key_id)
            .fetch_all(&self.pool)
            .await
    }

    pub(crate) async fn webhook_endpoint(
        &self,
        key_id: &str,
        id: &str,
    ) -> Result<Option<WebhookEndpoint>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, url, secret, events, created_at FROM webhook_endpoints WHERE id = $1 AND key_id = $2",
        )
        .bind(id)
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Writes an endpoint's url, events and secret back.
    pub(crate) async fn update_webhook_endpoint(
        &self,
        key_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, events = $2, secret = $3 WHERE id = $4 AND key_id = $5",
        )
        .bind(&endpoint.url)
        .bind(&endpoint.events)
        .bind(&endpoint.secret)
        .bind(&endpoint.id)
        .bind(key_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn insert_webhook_event(
        &self,
        key_id: &str,
        event_type: &str,
        entity_id: &str,
        data: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO webhook_events (id, key_id, event_type, entity_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(key_id)
        .bind(event_type)
        .bind(entity_id)
        .bind(data)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The events announced to a key, newest first, of one type and about
    /// one thing if asked.
    pub(crate) async fn webhook_events(
        &self,
        key_id: &str,
        event_type: Option<&str>,
        entity_id: Option<&str>,
    ) -> Result<Vec<WebhookEvent>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, event_type, entity_id, data, created_at FROM webhook_events
             WHERE key_id = $1 AND ($2 IS NULL OR event_type = $2) AND ($3 IS NULL OR entity_id = $3)
             ORDER BY created_at DESC, id DESC",
        )
        .bind(key_id)
        .bind(event_type)
        .bind(entity_id)
        .fetch_all(&self.pool)
        .await
    }

    pub(crate) async fn delete_webhook_endpoint(&self, key_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND key_id = $2")
            .bind(id)
            .bind(key_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn webhook_target(&self, video_id: &str) -> Result<Option<WebhookTarget>, sqlx::Error> {
        sqlx::query_as(
            "SELECT v.key_id, k.key_hash, v.callback_url FROM videos v JOIN api_keys k ON k.id = v.key_id WHERE v.id = $1",
        )
        .bind(video_id)
        .fetch_optional(&self.pool)
        .await
    }

    pub(crate) async fn enqueue_delivery(&self, url: &str, secret: &str, body: &str) -> Result<(), sqlx::Error> {
        let at = now();
        sqlx::query(
            "INSERT INTO webhook_deliveries (url, secret, body, state, next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', $4, $5)",
        )
        .bind(url)
        .bind(secret)
        .bind(body)
        .bind(at)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the next due delivery; it is pushed 60 s into the future while
    /// being attempted, so a crash mid-attempt only delays it. The outer
    /// condition is checked again on the row as updated, so when senders in
    /// two processes race for one delivery only the first gets it.
    pub(crate) async fn due_delivery(&self) -> Result<Option<Delivery>, sqlx::Error> {
        let at = now();
        sqlx::query_as(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1
             WHERE id = (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $2 ORDER BY id LIMIT 1)
               AND state = 'pending' AND next_attempt_at <= $2
             RETURNING id, url, secret, body, attempts",
        )
        .bind(at + 60)
        .bind(at)
        .fetch_optional(&self.pool)
        .await
    }

    /// Records an attempt: delivered, or retried after 1, 2, 4, 8 … seconds, or given up.
    pub(crate) async fn finish_delivery(&self, id: i64, attempts: i64, error: Option<&str>) -> Result<(), sqlx::Error> {
        let (state, next) = match error {
            None => ("delivered", now()),
            Some(_) if attempts >= crate::webhooks::MAX_ATTEMPTS => ("failed", now()),
            Some(_) => ("pending", now() + (1i64 << (attempts - 1).clamp(0, 10))),
        };
        sqlx::query("UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4")
            .bind(state)
            .bind(next)
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn video(&self, key_id: Option<&str>, id: &str) -> Result<Option<Video>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM videos WHERE id = $1 AND ($2 IS NULL OR key_id = $2)")
            .bind(id)
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await
    }

    pub(crate) async fn start_video(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE videos SET status = 'processing', progress = 0, started_at = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(now())
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn set_video_progress(&self, id: &str, progress: f64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE videos SET progress = $1, updated_at = $2 WHERE id = $3 AND status = 'processing'")
            .bind(progress)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One page of a tenant's videos, newest first, after the cursor
    /// `(created_at, id)` of the last video of the previous page.
    /// A page of a tenant's videos, newest first, after `after` (created_at,
    /// id), only those whose title contains `title` (any case) if given.
    pub(crate) async fn videos_page(
        &self,
        key_id: &str,
        after: Option<(i64, String)>,
        title: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Video>, sqlx::Error> {
        let (created, id) = after.unwrap_or((i64::MAX, String::new()));
        // LIKE's own wildcards in the title are taken literally.
        let pattern = title.map(|t| {
            let escaped = t.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        sqlx::query_as(
            "SELECT * FROM videos WHERE key_id = $1 AND (created_at < $2 OR (created_at = $3 AND id < $4))
             AND ($5 IS NULL OR LOWER(title) LIKE $5 ESCAPE '\\')
             ORDER BY created_at DESC, id DESC LIMIT $6",
        )
        .bind(key_id)
        .bind(created)
        .bind(created)
        .bind(if id.is_empty() { "\u{10FFFF}".to_string() } else { id })
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Removes a video's row; its job, if still queued, goes with it.
    pub(crate) async fn delete_video(&self, key_id: &str, id: &str) -> Result<Option<Video>, sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        let video: Option<Video> = sqlx::query_as("SELECT * FROM videos WHERE id = $1 AND key_id = $2")
            .bind(id)
            .bind(key_id)
            .fetch_optional(&mut *transaction)
            .await?;
        if video.is_some() {
            sqlx::query("DELETE FROM jobs WHERE kind = 'video' AND target_id = $1 AND state = 'queued'")
                .bind(id)
                .execute(&mut *transaction)
                .await?;
            sqlx::query("DELETE FROM videos WHERE id = $1").bind(id).execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(video)
    }

    pub(crate) async fn avatar_groups(&self, key_id: &str) -> Result<Vec<AvatarGroup>, sqlx::Error> {
        sqlx::query_as(
            "SELECT g.*, a.file AS image_file FROM avatar_groups g JOIN assets a ON a.id = g.image_asset_id
             WHERE g.key_id = $1 AND g.listed = 1 ORDER BY g.created_at DESC, g.id",
        )
        .bind(key_id)
        .fetch_all(&self.pool)
        .await
    }

    pub(crate) async fn delete_avatar_group(&self, key_id: &str, id: &str) -> Result<Option<AvatarGroup>, sqlx::Error> {
        let group = self.avatar_group(Some(key_id), id).await?;
        if group.is_some() {
            sqlx::query("DELETE FROM avatar_groups WHERE id = $1 AND key_id = $2")
                .bind(id)
                .bind(key_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(group)
    }

    pub(crate) async fn fail_video(&self, id: &str, code: i64, message: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE videos SET status = 'failed', error_code = $1, error_message = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(code)
        .bind(message)
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // --- job queue ---

    /// Queues a job of `kind` on `target_id` for the key `key_id`.
    pub(crate) async fn enqueue(&self, kind: &str, target_id: &str, key_id: &str) -> Result<i64, sqlx::Error> {
        let id = sqlx::query_scalar(
            "INSERT INTO jobs (kind, target_id, state, created_at, key_id) VALUES ($1, $2, 'queued', $3, $4) RETURNING id",
        )
        .bind(kind)
        .bind(target_id)
        .bind(now())
        .bind(key_id)
        .fetch_one(&self.pool)
        .await?;
        if self.backend == Backend::Postgres {
            // Wakes idle workers in every process at once (see `listen_for_jobs`).
            sqlx::query("SELECT pg_notify($1, '')").bind(JOBS_CHANNEL).execute(&self.pool).await?;
        }
        Ok(id)
    }

    /// Claims the oldest job that is due — queued and past its back-off, or
    /// running with a lease that ran out because its worker died or hung —
    /// for `worker_id`. The single UPDATE is atomic, so two workers never
    /// claim the same job; on Postgres, `FOR UPDATE SKIP LOCKED` lets
    /// workers that race for the same row move on to the next one instead
    /// of waiting for each other.
    pub(crate) async fn claim_job(&self, worker_id: &str) -> Result<Option<Job>, sqlx::Error> {
        let at = now();
        let statement = match self.backend {
            Backend::Sqlite => concat!(claim_job_sql!(), ") RETURNING id, kind, target_id, attempts"),
            Backend::Postgres => {
                concat!(claim_job_sql!(), " FOR UPDATE SKIP LOCKED) RETURNING id, kind, target_id, attempts")
            }
        };
        sqlx::query_as(statement)
            .bind(worker_id)
            .bind(at + LEASE_SECONDS)
            .bind(at)
            .bind(now_millis())
            .fetch_optional(&self.pool)
            .await
    }

    /// Extends the lease of a job; false if `worker_id` no longer holds it
    /// (its lease ran out and another worker claimed it).
    pub(crate) async fn heartbeat(&self, job_id: i64, worker_id: &str) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND worker_id = $3 AND state = 'running'")
                .bind(now() + LEASE_SECONDS)
                .bind(job_id)
                .bind(worker_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records how a job ended, if `worker_id` still holds it; false if it
    /// does not (another worker has it now, and this outcome is dropped).
    pub(crate) async fn finish_job(&self, job_id: i64, worker_id: &str, end: JobEnd<'_>) -> Result<bool, sqlx::Error> {
        settle_job(&self.pool, job_id, worker_id, &end).await
    }

    /// Marks a video completed and its job done, together, if `worker_id`
    /// still holds the job: a worker that lost its lease cannot complete a
    /// video that another worker is making.
    pub(crate) async fn complete_video(
        &self,
        job_id: i64,
        worker_id: &str,
        id: &str,
        files: VideoFiles<'_>,
        duration: f64,
    ) -> Result<bool, sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        if !settle_job(&mut *transaction, job_id, worker_id, &JobEnd::Done).await? {
            return Ok(false);
        }
        let (caption, captioned) = files.captions.unzip();
        sqlx::query(
            "UPDATE videos SET status = 'completed', progress = 1, video_file = $1, thumbnail_file = $2, gif_file = $3,
             caption_file = $4, captioned_video_file = $5, duration = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(files.video)
        .bind(files.thumbnail)
        .bind(files.gif)
        .bind(caption)
        .bind(captioned)
        .bind(duration)
        .bind(now())
        .bind(id)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Wakes `idle_workers` whenever a job is queued by any process. On
    /// Postgres that is LISTEN/NOTIFY on its own connection (re-established
    /// if the database restarts); the embedded database has only this
    /// process, whose API wakes the workers itself. Workers also look on
    /// their own every half second, so nothing waits on a lost notice.
    pub(crate) fn listen_for_jobs(&self, idle_workers: Arc<Notify>) {
        if self.backend != Backend::Postgres {
            return;
        }
        let url = self.url.clone();
        tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut listener) => {
                        if let Err(error) = listener.listen(JOBS_CHANNEL).await {
                            tracing::warn!(%error, "cannot listen for new jobs");
                        } else {
                            while listener.recv().await.is_ok() {
                                idle_workers.notify_waiters();
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot listen for new jobs; polling meanwhile"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// How many videos of a key wait in the queue, not started yet.
    pub(crate) async fn queued_videos(&self, key_id: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM videos WHERE key_id = $1 AND status = 'pending'")
            .bind(key_id)
            .fetch_one(&self.pool)
            .await
    }

    /// How many jobs there are of each (kind, state).
    pub(crate) async fn job_counts(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        sqlx::query_as("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state").fetch_all(&self.pool).await
    }

    /// Records that the process `seen` describes is alive, with what it
    /// offers; called at its start and every few seconds.
    pub(crate) async fn worker_seen(&self, seen: &ProcessSeen<'_>) -> Result<(), sqlx::Error> {
        let at = now();
        sqlx::query(
            "INSERT INTO workers (id, host, threads, started_at, seen_at, public_url, live_capacity, live_held)
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET seen_at = $4, live_held = $7",
        )
        .bind(seen.id)
        .bind(seen.host)
        .bind(seen.threads)
        .bind(at)
        .bind(seen.public_url)
        .bind(seen.live_capacity)
        .bind(seen.live_held)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A worker process that stops cleanly leaves the registry at once.
    pub(crate) async fn worker_gone(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM workers WHERE id = $1").bind(id).execute(&self.pool).await.map(|_| ())
    }

    /// Render workers of the whole deployment: those of every process seen
    /// within two leases (a killed process drops out on its own).
    pub(crate) async fn live_workers(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(threads), 0) AS BIGINT) FROM workers WHERE seen_at > $1")
            .bind(now() - 2 * LEASE_SECONDS)
            .fetch_one(&self.pool)
            .await
    }

    /// Records a live session asked for (not started yet).
    pub(crate) async fn ask_live_session(&self, session: &LiveSessionRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO live_sessions (id, key_id, token_hash, avatar_id, mode, voice_id, video_quality, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&session.id)
        .bind(&session.key_id)
        .bind(&session.token_hash)
        .bind(&session.avatar_id)
        .bind(&session.mode)
        .bind(&session.voice_id)
        .bind(&session.video_quality)
        .bind(session.created_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// A live session that has not ended (and, if never started, was asked
    /// for less than [`LIVE_START_WITHIN`] ago).
    pub(crate) async fn live_session(&self, id: &str) -> Result<Option<LiveSessionRow>, sqlx::Error> {
        sqlx::query_as(concat!("SELECT * FROM live_sessions WHERE id = $1 AND ", live_session_open!()))
            .bind(id)
            .bind(now() - LIVE_START_WITHIN)
            .fetch_optional(&self.pool)
            .await
    }

    /// A key's live sessions that have not ended, oldest first.
    pub(crate) async fn live_sessions_of_key(&self, key_id: &str) -> Result<Vec<LiveSessionRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT * FROM live_sessions WHERE key_id = $1 AND ",
            live_session_open!(),
            " ORDER BY created_at, id"
        ))
        .bind(key_id)
        .bind(now() - LIVE_START_WITHIN)
        .fetch_all(&self.pool)
        .await
    }

    /// Processes that host live sessions, seen within `seen_within`
    /// seconds, the one with the most free room first (room counted from
    /// the sessions placed on it, which is exact even between two of its
    /// announcements).
    pub(crate) async fn live_hosts(&self, seen_within: i64) -> Result<Vec<LiveHost>, sqlx::Error> {
        sqlx::query_as(
            "SELECT * FROM (
                 SELECT w.id, w.public_url, w.live_capacity,
                        CAST((SELECT COUNT(*) FROM live_sessions s WHERE s.host_id = w.id AND s.ended_at IS NULL)
                             AS BIGINT) AS placed
                 FROM workers w
                 WHERE w.seen_at > $1 AND w.live_capacity > 0 AND w.public_url IS NOT NULL
             ) hosts
             ORDER BY live_capacity - placed DESC, id",
        )
        .bind(now() - seen_within)
        .fetch_all(&self.pool)
        .await
    }

    /// Places a live session on a host, if nobody started it yet; false if
    /// another call did.
    pub(crate) async fn place_live_session(&self, id: &str, host: &LiveHost) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE live_sessions SET host_id = $1, host_url = $2, started_at = $3, state = 'connecting'
             WHERE id = $4 AND host_id IS NULL AND ended_at IS NULL",
        )
        .bind(&host.id)
        .bind(&host.public_url)
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes back a placement whose host could not start the session.
    pub(crate) async fn unplace_live_session(&self, id: &str, host_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE live_sessions SET host_id = NULL, host_url = NULL, started_at = NULL, state = 'waiting'
             WHERE id = $1 AND host_id = $2 AND ended_at IS NULL",
        )
        .bind(id)
        .bind(host_id)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// The longest a started session may run, as its host said.
    pub(crate) async fn set_live_session_limit(&self, id: &str, max_seconds: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE live_sessions SET max_seconds = $1 WHERE id = $2")
            .bind(max_seconds)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// What a running session's host last saw of it.
    pub(crate) async fn set_live_session_state(&self, id: &str, state: &str, viewers: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE live_sessions SET state = $1, viewers = $2 WHERE id = $3 AND ended_at IS NULL")
            .bind(state)
            .bind(viewers)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Marks a live session ended, once (the first reason stays).
    pub(crate) async fn end_live_session(&self, id: &str, reason: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE live_sessions SET ended_at = $1, end_reason = $2, state = 'closed', viewers = 0
             WHERE id = $3 AND ended_at IS NULL",
        )
        .bind(now())
        .bind(reason)
        .bind(id)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Ends the sessions whose host has not been seen within `seen_within`
    /// seconds (killed, or cut off from the database): their media went
    /// with it. Returns how many.
    pub(crate) async fn end_orphaned_live_sessions(&self, seen_within: i64) -> Result<u64, sqlx::Error> {
        let at = now();
        let done = sqlx::query(
            "UPDATE live_sessions SET ended_at = $1, end_reason = 'the machine running it stopped',
                                      state = 'closed', viewers = 0
             WHERE ended_at IS NULL AND host_id IS NOT NULL
               AND host_id NOT IN (SELECT id FROM workers WHERE seen_at > $2)",
        )
        .bind(at)
        .bind(at - seen_within)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Ends every session hosted by `host_id` (that process stops).
    pub(crate) async fn end_live_sessions_of_host(&self, host_id: &str, reason: &str) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE live_sessions SET ended_at = $1, end_reason = $2, state = 'closed', viewers = 0
             WHERE ended_at IS NULL AND host_id = $3",
        )
        .bind(now())
        .bind(reason)
        .bind(host_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Whether the database answers.
    pub(crate) async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    /// For the embedded database, whose only workers live in the one server
    /// process: at its start no worker holds anything, so jobs still marked
    /// running were cut off by a crash or restart and go back in line at
    /// once. (With shared workers their leases decide instead.)
    /// Live sessions too: the one process that hosted them is gone.
    pub(crate) async fn requeue_abandoned_jobs(&self) -> Result<u64, sqlx::Error> {
        sqlx::query(
            "UPDATE live_sessions SET ended_at = $1, end_reason = 'the server restarted', state = 'closed', viewers = 0
             WHERE ended_at IS NULL AND host_id IS NOT NULL",
        )
        .bind(now())
        .execute(&self.pool)
        .await?;
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', worker_id = NULL, lease_until = NULL WHERE state = 'running'",
        )
        .execute(&self.pool)
        .await?;
        sqlx::query("UPDATE videos SET status = 'pending' WHERE status = 'processing'").execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}

/// How a job ended.
pub(crate) enum JobEnd<'a> {
    Done,
    /// Failed, to be tried again after `delay` seconds.
    Retry {
        error: &'a str,
        delay: i64,
    },
    /// Failed for good.
    Failed(&'a str),
    /// Handed back unfinished (the worker is shutting down): queued again at
    /// once, and the attempt does not count.
    Released,
}

/// Writes a job's end if `worker_id` holds the job, through `executor`
/// (the pool, or a transaction that records a result with it).
async fn settle_job<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    job_id: i64,
    worker_id: &str,
    end: &JobEnd<'_>,
) -> Result<bool, sqlx::Error> {
    let (state, error, run_after, attempts_back) = match end {
        JobEnd::Done => ("done", None, 0, 0),
        JobEnd::Retry { error, delay } => ("queued", Some(*error), now() + delay, 0),
        JobEnd::Failed(error) => ("failed", Some(*error), 0, 0),
        JobEnd::Released => ("queued", None, 0, 1),
    };
    let done = sqlx::query(
        "UPDATE jobs SET state = $1, last_error = COALESCE($2, last_error), run_after = $3, attempts = attempts - $4,
                         worker_id = NULL, lease_until = NULL
         WHERE id = $5 AND worker_id = $6 AND state = 'running'",
    )
    .bind(state)
    .bind(error)
    .bind(run_after)
    .bind(attempts_back)
    .bind(job_id)
    .bind(worker_id)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}
