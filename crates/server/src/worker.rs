//! Render workers: each claims a job from the queue, renews its lease with
//! a heartbeat while it works, and records the outcome only if it still
//! holds the job. A job whose worker vanished or hung is claimed again once
//! its lease runs out; one that fails is retried after a growing pause and
//! given up after a few attempts, with the last reason. The expensive
//! stages keep their outputs in the store (the rig, each scene's speech,
//! the finished files), so a retried job does not redo finished work.

use crate::App;
use crate::db::{self, AvatarGroup, Job, JobEnd};
use crate::metrics::Stage;
use face::Rig;
use image::RgbImage;
use pipeline::{PipelineError, VideoSpec};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// What a video job renders, validated and normalised by the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VideoOrder {
    /// The scenes, rendered one after another into one video.
    pub scenes: Vec<SceneOrder>,
    pub width: u32,
    pub height: u32,
    /// Make SRT captions and a copy of the video with them drawn in.
    #[serde(default)]
    pub caption: bool,
}

/// One scene: who speaks, what, and how it looks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SceneOrder {
    pub talking_photo_id: String,
    pub text: String,
    pub voice_id: String,
    #[serde(default = "normal_speed")]
    pub speed: f32,
    #[serde(default)]
    pub pitch: f32,
    /// Checked against the voice when the video was ordered.
    #[serde(default)]
    pub emotion: Option<speech::Emotion>,
    /// Seconds of silence instead of speech (voice type "silence").
    #[serde(default)]
    pub silence: Option<f32>,
    /// An uploaded recording instead of speech (voice type "audio").
    #[serde(default)]
    pub audio_asset: Option<String>,
    pub background: [u8; 3],
    #[serde(default)]
    pub look: Look,
}

fn normal_speed() -> f32 {
    1.0
}

/// How the talking photo is shown: HeyGen's character options.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Look {
    pub scale: f32,
    pub offset: [f32; 2],
    /// "full", "square" or "circle".
    pub frame: String,
    pub expressive: bool,
    pub happy: bool,
    #[serde(default)]
    pub matting: bool,
    /// An uploaded image asset shown behind the photo.
    pub background_asset: Option<String>,
}

impl Default for Look {
    fn default() -> Self {
        Look {
            scale: 1.0,
            offset: [0.0, 0.0],
            frame: "full".into(),
            expressive: false,
            happy: false,
            matting: false,
            background_asset: None,
        }
    }
}

impl Look {
    fn apply(&self, spec: &mut VideoSpec) {
        spec.layout = pipeline::Layout {
            scale: self.scale,
            offset: self.offset,
            frame: match self.frame.as_str() {
                "square" => pipeline::PhotoFrame::Square,
                "circle" => pipeline::PhotoFrame::Circle,
                _ => pipeline::PhotoFrame::Full,
            },
        };
        spec.matting = self.matting;
        spec.expression = pipeline::Expression {
            smile: if self.happy { pipeline::Expression::HAPPY_SMILE } else { 0.0 },
            ..if self.expressive { pipeline::Expression::EXPRESSIVE } else { pipeline::Expression::STABLE }
        };
    }
}

pub(crate) const TRAIN_JOB: &str = "train";
/// The longest uploaded recording a video may use.
const MAX_RECORDING_SECONDS: f32 = 600.0;
pub(crate) const VIDEO_JOB: &str = "video";

/// Why a job did not finish.
enum JobError {
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

/// The render workers of one process. The process is registered in the
/// database while it runs, so every front end can tell how many workers
/// the deployment has.
pub(crate) struct Pool {
    app: App,
    process_id: String,
    workers: Vec<tokio::task::JoinHandle<()>>,
    registration: Option<tokio::task::JoinHandle<()>>,
    held: Held,
}

/// This machine's name, for worker ids and the registry.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl Pool {
    /// Starts `count` workers (none is fine: a front end may leave the work
    /// to `worker` processes). They stop claiming jobs once `stopping` is true.
    pub(crate) async fn start(app: App, count: usize, stopping: tokio::sync::watch::Receiver<bool>) -> Pool {
        let host = host_name();
        let process_id = format!("{host}-{}-{}", std::process::id(), &db::new_id()[..6]);
        app.metrics.workers.set(count as i64);
        let held: Held = Arc::default();
        let registration = (count > 0).then(|| {
            let (app, id) = (app.clone(), process_id.clone());
            tokio::spawn(async move {
                loop {
                    if let Err(error) = app.db.worker_seen(&id, &host, count as i64).await {
                        tracing::warn!(%error, "cannot register this worker process");
                    }
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            })
        });
        let workers = (0..count)
            .map(|index| {
                let worker = Worker { app: app.clone(), id: format!("{process_id}-{index}"), held: held.clone() };
                tokio::spawn(worker.run(stopping.clone()))
            })
            .collect();
        Pool { app, process_id, workers, registration, held }
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
        if let Some(registration) = self.registration.take() {
            registration.abort();
            let _ = self.app.db.worker_gone(&self.process_id).await;
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
            TRAIN_JOB => train(app, &job.target_id).await.map(|_| Completion::Pending),
            VIDEO_JOB => render(app, worker_id, &job, progress).await,
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

/// Analyses an avatar's photo into its rig (once; later calls reuse it).
async fn train(app: &App, group_id: &str) -> Result<(RgbImage, Rig), JobError> {
    let group = app
        .db
        .avatar_group(None, group_id)
        .await?
        .ok_or_else(|| JobError::Rejected(format!("avatar group {group_id} does not exist")))?;
    let photo_bytes = photo_of(app, &group).await?;
    // The rig is stored under a name of its own before the database hears
    // of it: a retry after a crash in between finds it and skips the analysis.
    let rig_file = rig_name(group_id);
    if let Some(rig) = stored::<Rig>(app, &rig_file).await {
        let studio = app.studio.clone();
        let photo = tokio::task::spawn_blocking(move || studio.decode(&photo_bytes))
            .await
            .map_err(|e| JobError::Failed(e.to_string()))??;
        if group.rig_file.is_none() {
            app.db.set_avatar_rig(group_id, &rig_file, rig.faces_found).await?;
        }
        return Ok((photo, rig));
    }
    app.db.set_avatar_status(group_id, "training", None).await?;
    let studio = app.studio.clone();
    let timing = app.clone();
    let analysed = tokio::task::spawn_blocking(move || -> Result<(RgbImage, Rig), PipelineError> {
        let started = Instant::now();
        let photo = studio.decode(&photo_bytes)?;
        let rig = studio.train(&photo)?;
        timing.metrics.stage(Stage::FaceAnalysis, started.elapsed().as_secs_f64());
        Ok((photo, rig))
    })
    .await
    .map_err(|e| JobError::Failed(e.to_string()))?;
    let (photo, rig) = match analysed {
        Ok(done) => done,
        Err(error) => {
            let error = JobError::from(error);
            if let JobError::Rejected(message) = &error {
                app.db.set_avatar_status(group_id, "failed", Some(message)).await?;
            }
            return Err(error);
        }
    };
    let json = serde_json::to_vec(&rig).map_err(|e| JobError::Failed(e.to_string()))?;
    app.store.put(&rig_file, &json).await?;
    app.db.set_avatar_rig(group_id, &rig_file, rig.faces_found).await?;
    Ok((photo, rig))
}

/// Where an avatar group's rig is stored.
pub(crate) fn rig_name(group_id: &str) -> String {
    format!("rigs/{group_id}.json")
}

/// A stored JSON file read back, if it is there and whole.
async fn stored<T: serde::de::DeserializeOwned>(app: &App, name: &str) -> Option<T> {
    let json = app.store.get(name).await.ok()?;
    serde_json::from_slice(&json).ok()
}

async fn photo_of(app: &App, group: &AvatarGroup) -> Result<Vec<u8>, JobError> {
    let asset = app
        .db
        .asset(&group.key_id, &group.image_asset_id)
        .await?
        .ok_or_else(|| JobError::Rejected(format!("the photo of avatar {} is gone", group.id)))?;
    Ok(app.store.get(&asset.file).await?)
}

/// Decodes an uploaded background image.
async fn background_of(app: &App, key_id: &str, asset_id: &str) -> Result<std::sync::Arc<RgbImage>, JobError> {
    let asset = app
        .db
        .asset(key_id, asset_id)
        .await?
        .ok_or_else(|| JobError::Rejected(format!("background image asset {asset_id} is gone")))?;
    let bytes = app.store.get(&asset.file).await?;
    let image = tokio::task::spawn_blocking(move || image::load_from_memory(&bytes).map(|i| i.to_rgb8()))
        .await
        .map_err(|e| JobError::Failed(e.to_string()))?
        .map_err(|e| JobError::Rejected(format!("background image asset {asset_id} cannot be read: {e}")))?;
    Ok(std::sync::Arc::new(image))
}

/// Everything one scene needs, gathered before the (blocking) render.
struct SceneInputs {
    order: SceneOrder,
    /// The talking photo and its rig, shared by every scene that uses it.
    face: Arc<(RgbImage, Rig)>,
    background_image: Option<Arc<RgbImage>>,
    recording: Option<std::path::PathBuf>,
}

/// A talking photo and its rig, trained now if it was not yet.
async fn talking_photo(app: &App, id: &str) -> Result<(RgbImage, Rig), JobError> {
    match train(app, id).await {
        Err(JobError::Rejected(message)) => {
            Err(JobError::Rejected(format!("talking photo {id} cannot be used: {message}")))
        }
        other => other,
    }
}

/// Gathers one scene's inputs; an uploaded recording is copied into
/// `scratch` for the decoder to read.
async fn scene_inputs(
    app: &App,
    key: &str,
    order: SceneOrder,
    face: Arc<(RgbImage, Rig)>,
    scratch: &std::path::Path,
) -> Result<SceneInputs, JobError> {
    let background_image = match &order.look.background_asset {
        Some(asset_id) => Some(background_of(app, key, asset_id).await?),
        None => None,
    };
    let recording = match &order.audio_asset {
        Some(asset_id) => {
            let asset = app
                .db
                .asset(key, asset_id)
                .await?
                .ok_or_else(|| JobError::Rejected(format!("audio asset {asset_id} is gone")))?;
            let local = scratch.join(format!("recording-{}", asset.file.replace('/', "-")));
            app.store.download(&asset.file, &local).await?;
            Some(local)
        }
        None => None,
    };
    Ok(SceneInputs { order, face, background_image, recording })
}

/// The sound of one scene: speech, an uploaded recording, or silence.
fn scene_speech(order: &SceneOrder, recording: Option<&std::path::Path>) -> Result<speech::Speech, PipelineError> {
    Ok(match (order.silence, recording) {
        (_, Some(path)) => {
            let samples = media::decode_audio(path, speech::SILENCE_SAMPLE_RATE)?;
            let seconds = samples.len() as f32 / speech::SILENCE_SAMPLE_RATE as f32;
            if seconds > MAX_RECORDING_SECONDS {
                return Err(PipelineError::Speech(speech::SpeechError::Option(format!(
                    "the recording lasts {seconds:.0} s; at most {MAX_RECORDING_SECONDS:.0} s are accepted"
                ))));
            }
            speech::Speech::from_audio(samples, speech::SILENCE_SAMPLE_RATE)
        }
        (Some(seconds), None) => speech::Speech::silence(seconds, speech::SILENCE_SAMPLE_RATE),
        (None, None) => speech::synthesize(
            &order.text,
            &order.voice_id,
            speech::SpeechOptions { speed: order.speed, pitch: order.pitch, emotion: order.emotion },
        )?,
    })
}

/// The stored names of a video's files.
struct OutputNames {
    video: String,
    thumbnail: String,
    gif: String,
    /// The SRT captions and the copy of the video with them drawn in.
    captions: Option<(String, String)>,
}

impl OutputNames {
    fn new(video_id: &str, caption: bool) -> OutputNames {
        OutputNames {
            video: format!("videos/{video_id}.mp4"),
            thumbnail: format!("videos/{video_id}.jpg"),
            gif: format!("videos/{video_id}.gif"),
            captions: caption.then(|| (format!("videos/{video_id}.srt"), format!("videos/{video_id}.caption.mp4"))),
        }
    }

    fn files(&self) -> db::VideoFiles<'_> {
        db::VideoFiles {
            video: &self.video,
            thumbnail: &self.thumbnail,
            gif: &self.gif,
            captions: self.captions.as_ref().map(|(srt, mp4)| (srt.as_str(), mp4.as_str())),
        }
    }
}

/// What a finished render left in the store, written after its files: its
/// presence means they are all there, and a retry only has to record it.
#[derive(Serialize, Deserialize)]
struct Rendered {
    duration: f64,
}

/// Where a video job keeps its intermediate results between attempts.
fn work_name(video_id: &str, part: &str) -> String {
    format!("work/{video_id}/{part}")
}

async fn render(app: &App, worker_id: &str, job: &Job, progress: Arc<AtomicU32>) -> Result<Completion, JobError> {
    let video_id = job.target_id.as_str();
    let video = app
        .db
        .video(None, video_id)
        .await?
        .ok_or_else(|| JobError::Rejected(format!("video {video_id} does not exist")))?;
    let order: VideoOrder =
        serde_json::from_str(&video.request).map_err(|e| JobError::Rejected(format!("unreadable request: {e}")))?;
    app.db.start_video(video_id).await?;
    let names = OutputNames::new(video_id, order.caption);
    let manifest = work_name(video_id, "rendered.json");
    let rendered = match stored::<Rendered>(app, &manifest).await {
        Some(rendered) => {
            tracing::info!("an earlier attempt rendered the video; recording it");
            rendered
        }
        None => {
            let rendered = render_files(app, &video, &order, &names, progress).await?;
            let json = serde_json::to_vec(&rendered).map_err(|e| JobError::Failed(e.to_string()))?;
            app.store.put(&manifest, &json).await?;
            rendered
        }
    };
    if !app.db.complete_video(job.id, worker_id, video_id, names.files(), rendered.duration).await? {
        return Ok(Completion::Lost);
    }
    tracing::info!(video = video_id, duration = rendered.duration, "video completed");
    let mut intermediate = vec![manifest];
    intermediate.extend((0..order.scenes.len()).map(|index| work_name(video_id, &format!("speech-{index}.json"))));
    for name in intermediate {
        if let Err(error) = app.store.delete(&name).await {
            tracing::warn!(%error, name, "cannot remove an intermediate file");
        }
    }
    let event = serde_json::json!({
        "video_id": video_id,
        "url": app.store.url(&app.public_url, &names.video).await,
        "gif_download_url": app.store.url(&app.public_url, &names.gif).await,
        "callback_id": video.callback_id,
    });
    if let Err(error) = crate::webhooks::announce(app, video_id, crate::webhooks::SUCCESS, event).await {
        tracing::error!(%error, video = video_id, "cannot queue the success webhook");
    }
    Ok(Completion::Recorded)
}

/// Each scene's speech, made once per video: kept in the store, so a
/// retried job reuses it.
async fn speeches(app: &App, video_id: &str, inputs: &[SceneInputs]) -> Result<Vec<speech::Speech>, JobError> {
    let mut speeches = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        let name = work_name(video_id, &format!("speech-{index}.json"));
        if let Some(speech) = stored::<speech::Speech>(app, &name).await {
            speeches.push(speech);
            continue;
        }
        let (order, recording, timing) = (input.order.clone(), input.recording.clone(), app.clone());
        let speech = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let speech = scene_speech(&order, recording.as_deref());
            timing.metrics.stage(Stage::Speech, started.elapsed().as_secs_f64());
            speech
        })
        .await
        .map_err(|e| JobError::Failed(e.to_string()))??;
        let json = serde_json::to_vec(&speech).map_err(|e| JobError::Failed(e.to_string()))?;
        app.store.put(&name, &json).await?;
        speeches.push(speech);
    }
    Ok(speeches)
}

/// Renders the video's files in a scratch directory and puts them in the store.
async fn render_files(
    app: &App,
    video: &db::Video,
    order: &VideoOrder,
    names: &OutputNames,
    progress: Arc<AtomicU32>,
) -> Result<Rendered, JobError> {
    let scratch = app.store.scratch_dir()?;
    let mut inputs = Vec::with_capacity(order.scenes.len());
    // Scenes often share a talking photo: decode each photo once per video.
    let mut faces: HashMap<String, Arc<(RgbImage, Rig)>> = HashMap::new();
    for scene in order.scenes.iter().cloned() {
        let face = match faces.get(&scene.talking_photo_id) {
            Some(face) => face.clone(),
            None => {
                let face = Arc::new(talking_photo(app, &scene.talking_photo_id).await?);
                faces.insert(scene.talking_photo_id.clone(), face.clone());
                face
            }
        };
        inputs.push(scene_inputs(app, &video.key_id, scene, face, scratch.path()).await?);
    }
    progress.store(0.05f32.to_bits(), Ordering::Relaxed);
    let speeches = speeches(app, &video.id, &inputs).await?;
    progress.store(0.1f32.to_bits(), Ordering::Relaxed);
    let local = |name: &str| scratch.path().join(name.rsplit('/').next().unwrap_or(name));
    let (video_path, thumbnail_path, gif_path) = (local(&names.video), local(&names.thumbnail), local(&names.gif));
    let caption_paths = names.captions.as_ref().map(|(srt, mp4)| (local(srt), local(mp4)));
    let (studio, timing) = (app.studio.clone(), app.clone());
    let (width, height) = (order.width, order.height);
    let rendered = {
        let (video_path, caption_paths) = (video_path.clone(), caption_paths.clone());
        tokio::task::spawn_blocking(move || -> Result<f32, PipelineError> {
            let started = Instant::now();
            let mut scenes = Vec::with_capacity(inputs.len());
            for (input, speech) in inputs.iter().zip(&speeches) {
                let mut spec = VideoSpec::new(width, height, input.order.background)?;
                input.order.look.apply(&mut spec);
                spec.background_image = input.background_image.clone();
                scenes.push(pipeline::Scene { photo: &input.face.0, rig: &input.face.1, speech, spec });
            }
            let mut report = |fraction: f32| progress.store((0.1 + 0.8 * fraction).to_bits(), Ordering::Relaxed);
            let files = pipeline::OutputFiles { video: &video_path, thumbnail: &thumbnail_path };
            let done = studio.render_scenes(&scenes, files, &mut report)?;
            media::gif_preview(&video_path, &gif_path, 3.0, 320)?;
            if let Some((srt, captioned)) = caption_paths {
                let words: Vec<speech::TimedWord> = speeches
                    .iter()
                    .zip(&done.scene_starts)
                    .flat_map(|(speech, &start)| {
                        speech.words.iter().map(move |w| speech::TimedWord {
                            start: w.start + start,
                            end: w.end + start,
                            ..w.clone()
                        })
                    })
                    .collect();
                let cues = speech::captions::cues(&words);
                std::fs::write(&srt, speech::captions::srt(&cues)).map_err(media::MediaError::Io)?;
                media::burn_captions(&video_path, &srt, &captioned)?;
            }
            timing.metrics.stage(Stage::Render, started.elapsed().as_secs_f64());
            Ok(done.duration)
        })
        .await
        .map_err(|e| JobError::Failed(e.to_string()))??
    };
    // The video itself goes in last: once it is there, everything is.
    let mut uploads = vec![(&names.thumbnail, local(&names.thumbnail)), (&names.gif, local(&names.gif))];
    if let (Some((srt, mp4)), Some((srt_path, mp4_path))) = (&names.captions, caption_paths) {
        uploads.push((srt, srt_path));
        uploads.push((mp4, mp4_path));
    }
    uploads.push((&names.video, video_path));
    for (name, path) in uploads {
        app.store.put_file(name, &path).await?;
    }
    // Milliseconds: an f32 widened as it is would read 3.0799999237060547.
    Ok(Rendered { duration: (f64::from(rendered) * 1000.0).round() / 1000.0 })
}
