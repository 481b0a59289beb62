//! Live sessions across a deployment. Every session is a row in the
//! database (who asked for it, the hash of its token, which process runs
//! it), so any front end can start, keep alive, stop or list it; the media
//! runs on the one process that hosts it: in the embedded default the
//! server itself, in distributed mode the `worker` with the most free room.
//! Viewers and the app's WebSocket go straight to that process's URLs. A
//! front end passes start, keep-alive and stop on to the host over HTTP and
//! never carries media.
//!
//! [`LiveSessions`] is this process's side: the sessions it runs. The free
//! functions are the deployment's side: asking, placing, steering, listing.

use crate::App;
use crate::db::{LiveHost, LiveSessionRow};
use crate::error::ApiError;
use crate::worker::{JobError, talking_photo};
use live::{Mode, Quality, SessionState};
use rand::Rng;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Limits and addresses of live sessions.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The address viewers' WebRTC reaches this machine at; found from the
    /// default route when not given.
    pub host: Option<IpAddr>,
    /// The longest a session may run.
    pub max_session: Duration,
    /// A session ends after this long with no viewer and no keep-alive.
    pub idle: Duration,
    /// Sessions this process runs at once, if it hosts sessions at all.
    pub capacity: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig { host: None, max_session: Duration::from_secs(600), idle: Duration::from_secs(60), capacity: 12 }
    }
}

/// A host not heard from in this many seconds is taken for gone, and its
/// sessions for ended (hosts announce themselves every 5 s).
pub(crate) const HOST_TIMEOUT: i64 = 15;

/// Header of a call one process passes on to another: the receiver never
/// passes it on again (a stale address cannot make a loop).
pub(crate) const FORWARDED: &str = "x-mouthpiece-forwarded";

/// How wide the square of a live video is, in eye distances.
const LIVE_FRAMING: f32 = 7.0;

/// How long a front end waits for a host to answer (a start loads the
/// avatar and starts the encoders).
const HOST_CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// A session this process runs.
struct Hosted {
    token_hash: String,
    session: live::Session,
}

/// The live sessions this process runs.
pub(crate) struct LiveSessions {
    pub config: LiveConfig,
    /// The address put in this process's ICE candidates.
    pub host: IpAddr,
    /// Sessions this process may run: 0 for one that carries no media (a
    /// front end of a distributed deployment).
    pub capacity: usize,
    hosted: Mutex<HashMap<String, Hosted>>,
    /// For calls to other processes' session endpoints.
    client: reqwest::Client,
}

impl LiveSessions {
    pub(crate) fn new(config: LiveConfig, hosting: bool) -> LiveSessions {
        live::init();
        let host = config.host.unwrap_or_else(live::default_host);
        let capacity = if hosting { config.capacity } else { 0 };
        let client = reqwest::Client::builder()
            .timeout(HOST_CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        LiveSessions { config, host, capacity, hosted: Mutex::new(HashMap::new()), client }
    }

    fn hosted(&self) -> std::sync::MutexGuard<'_, HashMap<String, Hosted>> {
        let mut hosted = self.hosted.lock().unwrap_or_else(|e| e.into_inner());
        hosted.retain(|_, entry| entry.session.state() != SessionState::Closed);
        hosted
    }

    /// Sessions running here now.
    pub(crate) fn held(&self) -> usize {
        self.hosted().len()
    }

    /// The session `id` running here, if `token` is its token.
    pub(crate) fn running_here(&self, id: &str, token: &str) -> Option<live::Session> {
        let hash = crate::auth::hash_key(token);
        self.hosted().get(id).filter(|entry| entry.token_hash == hash).map(|entry| entry.session.clone())
    }

    /// The longest a session started here may run, in seconds.
    pub(crate) fn max_seconds(&self) -> i64 {
        self.config.max_session.as_secs() as i64
    }

    /// Stops every session running here (the process shuts down).
    pub(crate) fn stop_all(&self) {
        for entry in self.hosted().values() {
            entry.session.stop();
        }
    }
}

/// Records a session asked for by a key; returns its id and token. The
/// token is shown only now; the database keeps its hash.
pub(crate) async fn ask(
    app: &App,
    key_id: String,
    avatar_id: String,
    mode: Mode,
    voice_id: String,
    quality: Quality,
) -> Result<(String, String), ApiError> {
    let token = hex::encode(rand::rng().random::<[u8; 32]>());
    let row = LiveSessionRow {
        id: crate::db::new_id(),
        key_id,
        token_hash: crate::auth::hash_key(&token),
        avatar_id,
        mode: mode.as_str().into(),
        voice_id,
        video_quality: quality.as_str().into(),
        state: "waiting".into(),
        viewers: 0,
        host_id: None,
        host_url: None,
        max_seconds: None,
        created_at: crate::db::now(),
    };
    app.db.ask_live_session(&row).await?;
    Ok((row.id, token))
}

/// The open session `id`, if `token` is its token.
pub(crate) async fn authorised(app: &App, id: &str, token: &str) -> Result<LiveSessionRow, ApiError> {
    let hash = crate::auth::hash_key(token);
    app.db.live_session(id).await?.filter(|row| row.token_hash == hash).ok_or(ApiError::InvalidSessionToken)
}

/// Why a host did not start a session.
enum Refusal {
    /// The session cannot start anywhere (its avatar is unusable).
    Final(ApiError),
    /// This host cannot take it now (full, unreachable, broken).
    TryAnother(String),
}

/// Starts the session on the host with the most free room, unless it was
/// started already; returns it as started.
pub(crate) async fn start(app: &App, row: LiveSessionRow, token: &str) -> Result<LiveSessionRow, ApiError> {
    if row.host_id.is_some() {
        return Ok(row);
    }
    app.db.end_orphaned_live_sessions(HOST_TIMEOUT).await?;
    let hosts = app.db.live_hosts(HOST_TIMEOUT).await?;
    if hosts.is_empty() {
        return Err(ApiError::Unavailable(
            "no process of this deployment runs live sessions: start a `mouthpiece worker` with --health-listen \
             (and --public-url), or `mouthpiece serve` with render workers"
                .into(),
        ));
    }
    let full = hosts.iter().all(|host| host.placed >= host.live_capacity);
    for host in hosts.iter().filter(|host| host.placed < host.live_capacity) {
        if !app.db.place_live_session(&row.id, host).await? {
            // Another call started it meanwhile.
            return authorised(app, &row.id, token).await;
        }
        let refusal = match launch_on(app, host, &row, token).await {
            Ok(max_seconds) => {
                app.db.set_live_session_limit(&row.id, max_seconds).await?;
                return Ok(LiveSessionRow {
                    host_id: Some(host.id.clone()),
                    host_url: Some(host.public_url.clone()),
                    max_seconds: Some(max_seconds),
                    state: "connecting".into(),
                    ..row
                });
            }
            Err(refusal) => refusal,
        };
        app.db.unplace_live_session(&row.id, &host.id).await?;
        match refusal {
            Refusal::Final(error) => return Err(error),
            Refusal::TryAnother(reason) => {
                tracing::warn!(host = %host.id, %reason, "a live host could not start a session; trying the next")
            }
        }
    }
    if full {
        let capacity: i64 = hosts.iter().map(|host| host.live_capacity).sum();
        return Err(ApiError::TooManyQueued(format!(
            "every machine that runs live sessions is full ({capacity} sessions on {} machines); stop one or try \
             again later",
            hosts.len()
        )));
    }
    Err(ApiError::Unavailable("no machine could start the session now; try again shortly".into()))
}

/// Asks `host` to start the session; returns its longest duration.
async fn launch_on(app: &App, host: &LiveHost, row: &LiveSessionRow, token: &str) -> Result<i64, Refusal> {
    if host.id == app.process_id {
        let mut placed = row.clone();
        placed.host_id = Some(host.id.clone());
        return launch_here(app, &placed).await.map_err(|error| match error {
            ApiError::InvalidParameter { .. } | ApiError::NotFound(_) => Refusal::Final(error),
            other => Refusal::TryAnother(format!("{other:?}")),
        });
    }
    let path = format!("/v1/sessions/{}/launch", row.id);
    match call_host(app, &host.public_url, &path, token, json!({})).await {
        Ok((status, reply)) if status.is_success() => {
            Ok(reply["data"]["max_session_duration"].as_i64().unwrap_or(app.live.max_seconds()))
        }
        Ok((status, reply)) if status.is_client_error() && status.as_u16() != 429 && status.as_u16() != 409 => {
            Err(Refusal::Final(relayed(status, &reply)))
        }
        Ok((status, reply)) => Err(Refusal::TryAnother(format!("{status}: {}", message_of(&reply)))),
        Err(error) => Err(Refusal::TryAnother(error.to_string())),
    }
}

/// Starts a session placed on this process; returns its longest duration.
pub(crate) async fn launch_here(app: &App, row: &LiveSessionRow) -> Result<i64, ApiError> {
    let max_seconds = app.live.max_seconds();
    if row.host_id.as_deref() != Some(app.process_id.as_str()) {
        return Err(ApiError::Conflict("the session is placed on another machine".into()));
    }
    if app.live.hosted().contains_key(&row.id) {
        return Ok(max_seconds);
    }
    if app.live.held() >= app.live.capacity {
        return Err(ApiError::TooManyQueued(format!(
            "this machine runs {} live sessions, as many as it may",
            app.live.capacity
        )));
    }
    let mode = Mode::parse(&row.mode).ok_or_else(|| ApiError::internal(format!("stored mode '{}'", row.mode)))?;
    let quality = Quality::parse(&row.video_quality)
        .ok_or_else(|| ApiError::internal(format!("stored quality '{}'", row.video_quality)))?;
    let (photo, rig) = talking_photo(app, &row.avatar_id).await.map_err(|error| match error {
        JobError::Rejected(message) => ApiError::invalid("avatar_id", message),
        JobError::Failed(message) => ApiError::internal(message),
    })?;
    let size = quality.size();
    let (studio, config, host, voice_id) =
        (app.studio.clone(), app.live.config.clone(), app.live.host, row.voice_id.clone());
    let session = tokio::task::spawn_blocking(move || {
        let mut spec = pipeline::VideoSpec::new(size, size, [255, 255, 255]).map_err(ApiError::internal)?;
        // Head and shoulders fill the square, as in a video call.
        spec.layout = pipeline::Layout::around_face(&rig, (size, size), LIVE_FRAMING);
        let renderer = studio.frame_renderer(&photo, &rig, &spec).map_err(ApiError::internal)?;
        live::Session::start(live::SessionSpec {
            renderer,
            size,
            mode,
            voice_id,
            max_duration: config.max_session,
            idle_timeout: config.idle,
            host,
            seed: rand::random(),
            expression: pipeline::Expression::default(),
        })
        .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    let inserted = {
        let mut hosted = app.live.hosted();
        let fresh = !hosted.contains_key(&row.id);
        if fresh {
            hosted.insert(row.id.clone(), Hosted { token_hash: row.token_hash.clone(), session: session.clone() });
        }
        fresh
    };
    if inserted {
        tokio::spawn(report(app.clone(), row.id.clone(), session));
    } else {
        // A concurrent launch of the same session won.
        session.stop();
    }
    Ok(max_seconds)
}

/// Keeps the session's row up to date while it runs here (its state and
/// viewers, seen by `GET /v1/sessions` on any front end) and marks it
/// ended when it closes.
async fn report(app: App, id: String, session: live::Session) {
    let mut events = session.subscribe();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut shown = None;
    loop {
        tokio::select! {
            // Any event may change what is shown; a closed state is seen below.
            event = events.recv() => {
                if let Err(tokio::sync::broadcast::error::RecvError::Closed) = event {
                    break;
                }
            }
            _ = tick.tick() => {}
        }
        let state = session.state();
        if state == SessionState::Closed {
            break;
        }
        let now = (state.as_str(), session.stats().viewers as i64);
        if shown != Some(now) {
            if let Err(error) = app.db.set_live_session_state(&id, now.0, now.1).await {
                tracing::warn!(%error, session = id, "cannot record the live session's state");
            }
            shown = Some(now);
        }
    }
    if let Err(error) =
        app.db.end_live_session(&id, "it closed: stopped, no viewer or keep-alive, or its time ran out").await
    {
        tracing::warn!(%error, session = id, "cannot record that the live session ended");
    }
}

/// What the app asks of a started session through any front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Steer {
    KeepAlive,
    Stop,
}

/// Keeps a session alive or stops it, wherever it runs. `forwarded`: the
/// call came from another process, and must not be passed on again.
pub(crate) async fn steer(
    app: &App,
    row: &LiveSessionRow,
    token: &str,
    steer: Steer,
    reason: &str,
    forwarded: bool,
) -> Result<(), ApiError> {
    let ended = || ApiError::not_found(format!("session '{}' has ended", row.id));
    let (Some(host_id), Some(host_url)) = (&row.host_id, &row.host_url) else {
        // Not started: nothing runs to keep alive, and stopping forgets it.
        if steer == Steer::Stop {
            app.db.end_live_session(&row.id, reason).await?;
        }
        return Ok(());
    };
    if *host_id == app.process_id {
        let running = app.live.running_here(&row.id, token);
        match steer {
            Steer::KeepAlive => running.ok_or_else(ended)?.keep_alive(),
            Steer::Stop => {
                // The row first, so the list never shows a stopped session.
                app.db.end_live_session(&row.id, reason).await?;
                if let Some(session) = running {
                    session.stop();
                }
            }
        }
        return Ok(());
    }
    if forwarded {
        return Err(ApiError::not_found(format!("session '{}' does not run on this machine", row.id)));
    }
    let (path, body) = match steer {
        Steer::KeepAlive => ("/v1/sessions/keep-alive", json!({"session_id": row.id})),
        Steer::Stop => ("/v1/sessions/stop", json!({"session_id": row.id, "reason": reason})),
    };
    match call_host(app, host_url, path, token, body).await {
        Ok((status, _)) if status.is_success() => Ok(()),
        Ok((status, reply)) => Err(relayed(status, &reply)),
        Err(error) => {
            // Unreachable: gone for good if it also stopped announcing itself.
            app.db.end_orphaned_live_sessions(HOST_TIMEOUT).await?;
            if app.db.live_session(&row.id).await?.is_some() {
                return Err(ApiError::Unavailable(format!(
                    "cannot reach the machine running the session ({error}); try again shortly"
                )));
            }
            match steer {
                Steer::Stop => Ok(()),
                Steer::KeepAlive => {
                    Err(ApiError::not_found(format!("session '{}' has ended: the machine running it stopped", row.id)))
                }
            }
        }
    }
}

/// A key's sessions that have not ended (those of vanished hosts are ended first).
pub(crate) async fn of_key(app: &App, key_id: &str) -> Result<Vec<LiveSessionRow>, ApiError> {
    app.db.end_orphaned_live_sessions(HOST_TIMEOUT).await?;
    Ok(app.db.live_sessions_of_key(key_id).await?)
}

/// The running session behind a WHEP or WebSocket URL, which only its host answers.
pub(crate) async fn hosted_session(app: &App, id: &str, token: &str) -> Result<live::Session, ApiError> {
    if let Some(session) = app.live.running_here(id, token) {
        return Ok(session);
    }
    let row = authorised(app, id, token).await?;
    Err(match (row.host_id, row.host_url) {
        (None, _) | (_, None) => ApiError::bad_request("the session has not started; POST /v1/sessions/start first"),
        (Some(host), Some(url)) if host != app.process_id => ApiError::not_found(format!(
            "session '{id}' runs on another machine: use the whep_url and ws_url from POST /v1/sessions/start \
             (they start with {url})"
        )),
        _ => ApiError::not_found(format!("session '{id}' has ended")),
    })
}

/// POSTs `body` with the session's token to another process.
async fn call_host(
    app: &App,
    base: &str,
    path: &str,
    token: &str,
    body: Value,
) -> Result<(reqwest::StatusCode, Value), reqwest::Error> {
    let response = app
        .live
        .client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header(FORWARDED, "1")
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// The message of an error reply in the v2 shape.
fn message_of(reply: &Value) -> String {
    reply["error"]["message"].as_str().unwrap_or("no message").to_string()
}

/// Another process's error reply, passed on to the client.
fn relayed(status: reqwest::StatusCode, reply: &Value) -> ApiError {
    let message = message_of(reply);
    match status.as_u16() {
        401 => ApiError::InvalidSessionToken,
        404 => ApiError::NotFound(message),
        409 => ApiError::Conflict(message),
        429 => ApiError::TooManyQueued(message),
        400..=499 => ApiError::BadRequest(message),
        _ => ApiError::Unavailable(format!("the machine running the session failed: {message}")),
    }
}
