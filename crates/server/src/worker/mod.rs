//! Render workers: each claims a job from the queue, renews its lease with
//! a heartbeat while it works, and records the outcome only if it still
//! holds the job. A job whose worker vanished or hung is claimed again once
//! its lease runs out; one that fails is retried after a growing pause and
//! given up after a few attempts, with the last reason. The expensive
//! stages keep their outputs in the store (the rig, each scene's speech,
//! the finished files), so a retried job does not redo finished work.
//!
//! This module is the queue side (the pool of workers, leases, outcomes);
//! `order` is what a video job is asked for, `train` and `video` are the
//! two kinds of job.

mod order;
mod train;
mod video;

pub(crate) use order::{Look, SceneOrder, VideoOrder, WatermarkOrder};
pub(crate) use train::talking_photo;

use crate::App;
use crate::db::{self, Job, JobEnd};
use pipeline::PipelineError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Instrument;

pub(crate) const TRAIN_JOB: &str = "train";
pub(crate) const VIDEO_JOB: &str = "video";

/// Why a job did not finish.
pub(crate) enum JobError {
    /// The input cannot work (no face, unknown avatar): retrying is pointless.
    Rejected(String),
    /// Something broke on our side; the job may succeed on another attempt.
    Failed(String),
}

impl From<sqlx::Error> for JobError {
    fn from(error: sqlx::Error) -> Self {
        JobError::Failed(format!("database error: {error}"))
    }
}

impl From<std::io::Error> for JobError {
    fn from(error: std::io::Error) -> Self {
        JobError::Failed(format!("storage error: {error}"))
    }
}

impl From<PipelineError> for JobError {
    fn from(error: PipelineError) -> Self {
        match error {
            PipelineError::Face(_)
            | PipelineError::Speech(speech::SpeechError::UnknownVoice(_))
            | PipelineError::Speech(speech::SpeechError::EmptyText)
            | PipelineError::Speech(speech::SpeechError::TextTooLong { .. })
            | PipelineError::Speech(speech::SpeechError::Option(_))
            | PipelineError::Dimension { .. } => JobError::Rejected(error.to_string()),
            other => JobError::Failed(other.to_string()),
        }
    }
}

/// Which job each worker of a process holds, to hand back on shutdown.
type Held = Arc<Mutex<HashMap<String, i64>>>;

/// The render workers of one process.
pub(crate) struct Pool {
    app: App,
    workers: Vec<tokio::task::JoinHandle<()>>,
    held: Held,
}

impl Pool {
    /// Starts `count` workers (none is fine: a front end may leave the work
    /// to `worker` processes). They stop claiming jobs once `stopping` is true.
    pub(crate) fn start(app: App, count: usize, stopping: tokio::sync::watch::Receiver<bool>) -> Pool {
        app.metrics.workers.set(count as i64);
        let held: Held = Arc::default();
        let workers = (0..count)
            .map(|index| {
                let id = format!("{}-{index}", app.process_id);
                let worker = Worker { app: app.clone(), id, held: held.clone() };
                tokio::spawn(worker.run(stopping.clone()))
            })
            .collect();
        Pool { app, workers, held }
    }

    /// Waits for the workers, which stop after their current job; jobs
    /// still running after `grace` are handed back to the queue (another
    /// worker takes them at once) and the process may exit.
    pub(crate) async fn stop(mut self, grace: Duration) {
        let finished = tokio::time::timeout(grace, async {
            for worker in &mut self.workers {
                let _ = worker.await;
            }
        })
        .await;
        if finished.is_err() {
            let held: Vec<(String, i64)> =
                self.held.lock().map(|h| h.clone().into_iter().collect()).unwrap_or_default();
            for (worker_id, job_id) in held {
                match self.app.db.finish_job(job_id, &worker_id, JobEnd::Released).await {
                    Ok(true) => tracing::info!(job = job_id, "handed the unfinished job back to the queue"),
                    Ok(false) => {}
                    Err(error) => {
                        tracing::error!(%error, job = job_id, "cannot hand the job back; its lease will expire")
                    }
                }
            }
        }
    }
}

/// One worker: a loop claiming and running jobs.
struct Worker {
    app: App,
    id: String,
    held: Held,
}

impl Worker {
    async fn run(self, mut stopping: tokio::sync::watch::Receiver<bool>) {
        while !*stopping.borrow() {
            match self.app.db.claim_job(&self.id).await {
                Ok(Some(job)) => {
                    self.hold(Some(job.id));
                    process(&self.app, &self.id, job).await;
                    self.hold(None);
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.app.jobs_queued.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = stopping.changed() => {}
                    }
                }
                Err(error) => {
                    tracing::error!(%error, worker = %self.id, "cannot claim jobs");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn hold(&self, job: Option<i64>) {
        if let Ok(mut held) = self.held.lock() {
            match job {
                Some(job) => held.insert(self.id.clone(), job),
                None => held.remove(&self.id),
            };
        }
    }
}

/// Seconds before a failed job is tried again: 2, 4, 8 … by attempt.
fn retry_delay(attempts: i64) -> i64 {
    1i64 << attempts.clamp(1, 8)
}

/// Runs one job; every log line it writes carries the job's id, kind and target.
async fn process(app: &App, worker_id: &str, job: Job) {
    // At error level so that it exists whatever the log filter: an info span
    // would be filtered out under MOUTHPIECE_LOG=warn, and the job's warnings
    // would lose their id.
    let span = tracing::error_span!("job", id = job.id, kind = %job.kind, target = %job.target_id);
    run_job(app, worker_id, job).instrument(span).await
}

async fn run_job(app: &App, worker_id: &str, job: Job) {
    tracing::info!(attempt = job.attempts, worker = worker_id, "job started");
    let progress = Arc::new(AtomicU32::new(0));
    let heartbeat = {
        let (app, worker_id, progress) = (app.clone(), worker_id.to_string(), progress.clone());
        let (job_id, kind, target) = (job.id, job.kind.clone(), job.target_id.clone());
        tokio::spawn(
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    match app.db.heartbeat(job_id, &worker_id).await {
                        Ok(true) => {}
                        // The job was settled (by this worker, a moment before
                        // this task is stopped) or taken over after a lapse;
                        // the outcome's recording tells which.
                        Ok(false) => return,
                        Err(error) => tracing::warn!(%error, "heartbeat failed; retrying"),
                    }
                    if kind == VIDEO_JOB {
                        let fraction = f64::from(f32::from_bits(progress.load(Ordering::Relaxed)));
                        let _ = app.db.set_video_progress(&target, fraction).await;
                    }
                }
            }
            .instrument(tracing::Span::current()),
        )
    };
    let result = if job.attempts > db::MAX_ATTEMPTS {
        // Claimed again after its lease ran out too often: its workers keep
        // dying or hanging on it.
        Err(JobError::Rejected(format!(
            "gave up after {} attempts: the worker stopped each time before finishing",
            job.attempts - 1
        )))
    } else {
        match job.kind.as_str() {
            TRAIN_JOB => train::train_job(app, &job.target_id).await.map(|_| Completion::Pending),
            VIDEO_JOB => video::render(app, worker_id, &job, progress).await,
            other => Err(JobError::Rejected(format!("unknown job kind '{other}'"))),
        }
    };
    heartbeat.abort();
    let outcome = match result {
        Ok(Completion::Recorded) => {
            app.metrics.job_finished(&job.kind, "done");
            Ok(true)
        }
        Ok(Completion::Lost) => Ok(false),
        Ok(Completion::Pending) => {
            app.metrics.job_finished(&job.kind, "done");
            app.db.finish_job(job.id, worker_id, JobEnd::Done).await
        }
        Err(JobError::Failed(message)) if job.attempts < db::MAX_ATTEMPTS => {
            tracing::warn!(%message, "job failed, will retry");
            app.metrics.job_finished(&job.kind, "retried");
            let end = JobEnd::Retry { error: &message, delay: retry_delay(job.attempts) };
            app.db.finish_job(job.id, worker_id, end).await
        }
        Err(JobError::Rejected(message) | JobError::Failed(message)) => {
            tracing::warn!(%message, "job failed");
            app.metrics.job_finished(&job.kind, "failed");
            fail(app, worker_id, &job, &message).await
        }
    };
    match outcome {
        Ok(true) => {}
        Ok(false) => tracing::warn!("another worker holds the job now; this attempt's outcome is dropped"),
        Err(error) => tracing::error!(%error, "could not record the job's outcome"),
    }
}

/// Marks a job and its target failed (and announces a failed video), if
/// this worker still holds the job.
async fn fail(app: &App, worker_id: &str, job: &Job, message: &str) -> Result<bool, sqlx::Error> {
    if !app.db.finish_job(job.id, worker_id, JobEnd::Failed(message)).await? {
        return Ok(false);
    }
    if job.kind == TRAIN_JOB {
        app.db.set_avatar_status(&job.target_id, "failed", Some(message)).await?;
        return Ok(true);
    }
    app.db.fail_video(&job.target_id, 400_140, message).await?;
    let callback_id = app.db.video(None, &job.target_id).await.ok().flatten().and_then(|v| v.callback_id);
    let event = serde_json::json!({"video_id": job.target_id, "msg": message, "callback_id": callback_id});
    if let Err(error) = crate::webhooks::announce(app, &job.target_id, crate::webhooks::FAIL, event).await {
        tracing::error!(%error, "cannot queue the failure webhook");
    }
    Ok(true)
}

/// How a job that went well was recorded.
enum Completion {
    /// The job was settled together with its result (a completed video).
    Recorded,
    /// The job is still to be marked done.
    Pending,
    /// Another worker holds the job now; this attempt's result is dropped.
    Lost,
}

/// A stored JSON file read back, if it is there and whole.
pub(super) async fn stored<T: serde::de::DeserializeOwned>(app: &App, name: &str) -> Option<T> {
    let json = app.store.get(name).await.ok()?;
    serde_json::from_slice(&json).ok()
}
