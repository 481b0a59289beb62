//! Render workers: each claims a job from the queue, renews its lease with
//! a heartbeat while it works, and records the outcome. A job whose worker
//! vanished is claimed again once its lease runs out.

use crate::App;
use crate::db::{self, AvatarGroup, Job};
use crate::metrics::Stage;
use face::Rig;
use image::RgbImage;
use pipeline::{PipelineError, VideoSpec};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
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

pub(crate) async fn run(app: App, worker_id: String) {
    loop {
        match app.db.claim_job(&worker_id).await {
            Ok(Some(job)) => process(&app, &worker_id, job).await,
            Ok(None) => {
                tokio::select! {
                    _ = app.jobs_queued.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
            Err(error) => {
                tracing::error!(%error, worker = %worker_id, "cannot claim jobs");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
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
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let _ = app.db.heartbeat(job_id, &worker_id).await;
                if kind == VIDEO_JOB {
                    let fraction = f64::from(f32::from_bits(progress.load(Ordering::Relaxed)));
                    let _ = app.db.set_video_progress(&target, fraction).await;
                }
            }
        })
    };
    let result = match job.kind.as_str() {
        TRAIN_JOB => train(app, &job.target_id).await.map(|_| ()),
        VIDEO_JOB => render(app, &job.target_id, progress).await,
        other => Err(JobError::Rejected(format!("unknown job kind '{other}'"))),
    };
    heartbeat.abort();
    let outcome = match result {
        Ok(()) => {
            app.metrics.job_finished(&job.kind, "done");
            app.db.finish_job(job.id, "done", None).await
        }
        Err(JobError::Failed(message)) if job.attempts < db::MAX_ATTEMPTS => {
            tracing::warn!(%message, "job failed, will retry");
            app.metrics.job_finished(&job.kind, "retried");
            app.db.finish_job(job.id, "queued", Some(&message)).await
        }
        Err(JobError::Rejected(message) | JobError::Failed(message)) => {
            tracing::warn!(%message, "job failed");
            app.metrics.job_finished(&job.kind, "failed");
            let marked = match job.kind.as_str() {
                TRAIN_JOB => app.db.set_avatar_status(&job.target_id, "failed", Some(&message)).await,
                _ => {
                    let failed = app.db.fail_video(&job.target_id, 400_140, &message).await;
                    let callback_id =
                        app.db.video(None, &job.target_id).await.ok().flatten().and_then(|v| v.callback_id);
                    let event =
                        serde_json::json!({"video_id": job.target_id, "msg": message, "callback_id": callback_id});
                    if let Err(error) =
                        crate::webhooks::announce(app, &job.target_id, crate::webhooks::FAIL, event).await
                    {
                        tracing::error!(%error, "cannot queue the failure webhook");
                    }
                    failed
                }
            };
            match marked {
                Ok(()) => app.db.finish_job(job.id, "failed", Some(&message)).await,
                Err(error) => Err(error),
            }
        }
    };
    if let Err(error) = outcome {
        tracing::error!(%error, "could not record the job's outcome");
    }
}

/// Analyses an avatar's photo into its rig (once; later calls reuse it).
async fn train(app: &App, group_id: &str) -> Result<(RgbImage, Rig), JobError> {
    let group = app
        .db
        .avatar_group(None, group_id)
        .await?
        .ok_or_else(|| JobError::Rejected(format!("avatar group {group_id} does not exist")))?;
    let photo_bytes = photo_of(app, &group).await?;
    if let Some(rig_file) = &group.rig_file {
        if let Ok(json) = app.store.get(rig_file).await {
            if let Ok(rig) = serde_json::from_slice::<Rig>(&json) {
                let studio = app.studio.clone();
                let photo = tokio::task::spawn_blocking(move || studio.decode(&photo_bytes))
                    .await
                    .map_err(|e| JobError::Failed(e.to_string()))??;
                return Ok((photo, rig));
            }
        }
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
    let rig_file = format!("rigs/{group_id}.json");
    let json = serde_json::to_vec(&rig).map_err(|e| JobError::Failed(e.to_string()))?;
    app.store.put(&rig_file, &json).await?;
    app.db.set_avatar_rig(group_id, &rig_file, rig.faces_found).await?;
    Ok((photo, rig))
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

async fn scene_inputs(
    app: &App,
    key: &str,
    order: SceneOrder,
    face: Arc<(RgbImage, Rig)>,
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
            Some(app.store.path(&asset.file))
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

async fn render(app: &App, video_id: &str, progress: Arc<AtomicU32>) -> Result<(), JobError> {
    let video = app
        .db
        .video(None, video_id)
        .await?
        .ok_or_else(|| JobError::Rejected(format!("video {video_id} does not exist")))?;
    let order: VideoOrder =
        serde_json::from_str(&video.request).map_err(|e| JobError::Rejected(format!("unreadable request: {e}")))?;
    app.db.start_video(video_id).await?;
    let key = video.key_id.clone();
    let mut inputs = Vec::with_capacity(order.scenes.len());
    // Scenes often share a talking photo: decode each photo once per video.
    let mut faces: std::collections::HashMap<String, Arc<(RgbImage, Rig)>> = std::collections::HashMap::new();
    for scene in order.scenes.iter().cloned() {
        let face = match faces.get(&scene.talking_photo_id) {
            Some(face) => face.clone(),
            None => {
                let face = Arc::new(talking_photo(app, &scene.talking_photo_id).await?);
                faces.insert(scene.talking_photo_id.clone(), face.clone());
                face
            }
        };
        inputs.push(scene_inputs(app, &key, scene, face).await?);
    }
    progress.store(0.05f32.to_bits(), Ordering::Relaxed);
    let video_file = format!("videos/{video_id}.mp4");
    let thumbnail_file = format!("videos/{video_id}.jpg");
    let (video_path, thumbnail_path) = (app.store.path(&video_file), app.store.path(&thumbnail_file));
    let partial = video_path.with_extension("partial.mp4");
    let gif_file = format!("videos/{video_id}.gif");
    let gif_path = app.store.path(&gif_file);
    let captions = order.caption.then(|| (format!("videos/{video_id}.srt"), format!("videos/{video_id}.caption.mp4")));
    let caption_paths = captions.as_ref().map(|(srt, mp4)| (app.store.path(srt), app.store.path(mp4)));
    let studio = app.studio.clone();
    let progress_for_render = progress.clone();
    let partial_for_render = partial.clone();
    let (width, height) = (order.width, order.height);
    let timing = app.clone();
    let rendered = tokio::task::spawn_blocking(move || -> Result<f32, PipelineError> {
        let started = Instant::now();
        let mut speeches = Vec::with_capacity(inputs.len());
        for input in &inputs {
            speeches.push(scene_speech(&input.order, input.recording.as_deref())?);
        }
        timing.metrics.stage(Stage::Speech, started.elapsed().as_secs_f64());
        let started = Instant::now();
        progress_for_render.store(0.1f32.to_bits(), Ordering::Relaxed);
        let mut scenes = Vec::with_capacity(inputs.len());
        for (input, speech) in inputs.iter().zip(&speeches) {
            let mut spec = VideoSpec::new(width, height, input.order.background)?;
            input.order.look.apply(&mut spec);
            spec.background_image = input.background_image.clone();
            scenes.push(pipeline::Scene { photo: &input.face.0, rig: &input.face.1, speech, spec });
        }
        let mut report =
            |fraction: f32| progress_for_render.store((0.1 + 0.85 * fraction).to_bits(), Ordering::Relaxed);
        let files = pipeline::OutputFiles { video: &partial_for_render, thumbnail: &thumbnail_path };
        let done = studio.render_scenes(&scenes, files, &mut report)?;
        media::gif_preview(&partial_for_render, &gif_path, 3.0, 320)?;
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
            media::burn_captions(&partial_for_render, &srt, &captioned)?;
        }
        timing.metrics.stage(Stage::Render, started.elapsed().as_secs_f64());
        Ok(done.duration)
    })
    .await
    .map_err(|e| JobError::Failed(e.to_string()))?;
    let duration = match rendered {
        Ok(duration) => duration,
        Err(error) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(error.into());
        }
    };
    // Only a complete file ever carries the video's real name.
    tokio::fs::rename(&partial, &video_path).await?;
    app.db
        .complete_video(
            video_id,
            crate::db::VideoFiles {
                video: &video_file,
                thumbnail: &thumbnail_file,
                gif: &gif_file,
                captions: captions.as_ref().map(|(srt, mp4)| (srt.as_str(), mp4.as_str())),
            },
            // Milliseconds: an f32 widened as it is would read 3.0799999237060547.
            (f64::from(duration) * 1000.0).round() / 1000.0,
        )
        .await?;
    tracing::info!(video = video_id, duration, "video completed");
    let url = |file: &str| format!("{}/files/{file}", app.public_url);
    let event = serde_json::json!({
        "video_id": video_id,
        "url": url(&video_file),
        "gif_download_url": url(&gif_file),
        "callback_id": video.callback_id,
    });
    if let Err(error) = crate::webhooks::announce(app, video_id, crate::webhooks::SUCCESS, event).await {
        tracing::error!(%error, video = video_id, "cannot queue the success webhook");
    }
    Ok(())
}
