//! A video job: gather each scene's photo, rig and sound, render the video
//! and its companions (thumbnail, GIF, captions) in scratch space, put them
//! in the store and record the result. Speech is made while the frames are
//! drawn (the voice speaks on a thread of its own, sentence by sentence).
//! What the render made is recorded in the store once its files are there,
//! so a retried job after that point only has to record it.

use super::train::talking_photo;
use super::{Completion, JobError, SceneOrder, VideoOrder, stored};
use crate::App;
use crate::db::{self, Job};
use crate::metrics::Stage;
use face::Rig;
use image::RgbImage;
use pipeline::{PipelineError, VideoSpec};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

/// The longest uploaded recording a video may use.
const MAX_RECORDING_SECONDS: f32 = 600.0;

/// Decodes an uploaded image of the tenant's (`role` names it in errors).
async fn image_asset(app: &App, key_id: &str, asset_id: &str, role: &str) -> Result<image::DynamicImage, JobError> {
    let asset = app
        .db
        .asset(key_id, asset_id)
        .await?
        .ok_or_else(|| JobError::Rejected(format!("{role} asset {asset_id} is gone")))?;
    let bytes = app.store.get(&asset.file).await?;
    tokio::task::spawn_blocking(move || image::load_from_memory(&bytes))
        .await
        .map_err(|e| JobError::Failed(e.to_string()))?
        .map_err(|e| JobError::Rejected(format!("{role} asset {asset_id} cannot be read: {e}")))
}

/// Decodes an uploaded background image.
async fn background_of(app: &App, key_id: &str, asset_id: &str) -> Result<Arc<RgbImage>, JobError> {
    Ok(Arc::new(image_asset(app, key_id, asset_id, "background image").await?.to_rgb8()))
}

/// Everything one scene needs, gathered before the (blocking) render.
struct SceneInputs {
    order: SceneOrder,
    /// The talking photo and its rig, shared by every scene that uses it.
    face: Arc<(RgbImage, Rig)>,
    background_image: Option<Arc<RgbImage>>,
    recording: Option<std::path::PathBuf>,
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

/// The sound of a scene that is known before drawing: an uploaded
/// recording or silence; `None` for speech, which is made while drawing.
fn known_sound(
    order: &SceneOrder,
    recording: Option<&std::path::Path>,
) -> Result<Option<speech::Speech>, PipelineError> {
    Ok(match (order.silence, recording) {
        (_, Some(path)) => {
            let samples = media::decode_audio(path, speech::SILENCE_SAMPLE_RATE)?;
            let seconds = samples.len() as f32 / speech::SILENCE_SAMPLE_RATE as f32;
            if seconds > MAX_RECORDING_SECONDS {
                return Err(PipelineError::Speech(speech::SpeechError::Option(format!(
                    "the recording lasts {seconds:.0} s; at most {MAX_RECORDING_SECONDS:.0} s are accepted"
                ))));
            }
            Some(speech::Speech::from_audio(samples, speech::SILENCE_SAMPLE_RATE))
        }
        (Some(seconds), None) => Some(speech::Speech::silence(seconds, speech::SILENCE_SAMPLE_RATE)),
        (None, None) => None,
    })
}

/// Varies the motion from one video to the next, the same for every attempt at one.
fn motion_seed(video_id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    video_id.hash(&mut hasher);
    hasher.finish()
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
    fn new(video_id: &str, caption: bool, alpha: bool) -> OutputNames {
        let container = if alpha { "webm" } else { "mp4" };
        OutputNames {
            video: format!("videos/{video_id}.{container}"),
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

pub(super) async fn render(
    app: &App,
    worker_id: &str,
    job: &Job,
    progress: Arc<AtomicU32>,
) -> Result<Completion, JobError> {
    let video_id = job.target_id.as_str();
    let video = app
        .db
        .video(None, video_id)
        .await?
        .ok_or_else(|| JobError::Rejected(format!("video {video_id} does not exist")))?;
    let order: VideoOrder =
        serde_json::from_str(&video.request).map_err(|e| JobError::Rejected(format!("unreadable request: {e}")))?;
    app.db.start_video(video_id).await?;
    let names = OutputNames::new(video_id, order.caption, order.alpha);
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
    if let Err(error) = app.store.delete(&manifest).await {
        tracing::warn!(%error, name = manifest, "cannot remove an intermediate file");
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
    let watermark = match &order.watermark {
        Some(watermark) => {
            let image = image_asset(app, &video.key_id, &watermark.asset_id, "watermark image").await?;
            Some(watermark.with_image(Arc::new(image.to_rgba8())))
        }
        None => None,
    };
    progress.store(0.05f32.to_bits(), Ordering::Relaxed);
    let local = |name: &str| scratch.path().join(name.rsplit('/').next().unwrap_or(name));
    let (video_path, thumbnail_path, gif_path) = (local(&names.video), local(&names.thumbnail), local(&names.gif));
    let caption_paths = names.captions.as_ref().map(|(srt, mp4)| (local(srt), local(mp4)));
    let (studio, timing) = (app.studio.clone(), app.clone());
    let (width, height, alpha, seed) = (order.width, order.height, order.alpha, motion_seed(&video.id));
    let rendered = {
        let (video_path, caption_paths) = (video_path.clone(), caption_paths.clone());
        tokio::task::spawn_blocking(move || -> Result<f32, PipelineError> {
            let started = Instant::now();
            let known = inputs
                .iter()
                .map(|input| known_sound(&input.order, input.recording.as_deref()))
                .collect::<Result<Vec<_>, _>>()?;
            let mut scenes = Vec::with_capacity(inputs.len());
            let mut voices = Vec::new();
            for (input, known) in inputs.iter().zip(&known) {
                let mut spec = VideoSpec::new(width, height, input.order.background)?;
                input.order.look.apply(&mut spec);
                spec.alpha = alpha;
                spec.seed = seed;
                spec.watermark = watermark.clone();
                spec.background_image = input.background_image.clone();
                let speech = match known {
                    Some(sound) => pipeline::SceneSpeech::Ready(sound),
                    None => {
                        let order = &input.order;
                        let options =
                            speech::SpeechOptions { speed: order.speed, pitch: order.pitch, emotion: order.emotion };
                        let (arriving, voice) = pipeline::speak_while_drawing(&order.text, &order.voice_id, options);
                        voices.push(voice);
                        pipeline::SceneSpeech::Arriving(arriving)
                    }
                };
                scenes.push(pipeline::Scene { photo: &input.face.0, rig: &input.face.1, speech, spec });
            }
            let mut report = |fraction: f32| progress.store((0.05 + 0.85 * fraction).to_bits(), Ordering::Relaxed);
            let files = pipeline::OutputFiles { video: &video_path, thumbnail: &thumbnail_path, gif: Some(&gif_path) };
            let done = studio.render_scenes(scenes, files, &mut report)?;
            for voice in voices {
                if let Ok(spoken) = voice.join() {
                    timing.metrics.stage(Stage::Speech, spoken.as_secs_f64());
                }
            }
            let metrics = &timing.metrics;
            let timings = &done.timings;
            metrics.stage(Stage::RenderPrepare, (timings.prepare + timings.motion).as_secs_f64());
            metrics.stage(Stage::WaitingForSpeech, timings.waiting_for_speech.as_secs_f64());
            metrics.stage(Stage::DrawAndEncode, (timings.render_and_encode - timings.waiting_for_speech).as_secs_f64());
            if let Some((srt, captioned)) = caption_paths {
                let words: Vec<speech::TimedWord> = done
                    .speeches
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
    let started = Instant::now();
    for (name, path) in uploads {
        app.store.put_file(name, &path).await?;
    }
    app.metrics.stage(Stage::Store, started.elapsed().as_secs_f64());
    // Milliseconds: an f32 widened as it is would read 3.0799999237060547.
    Ok(Rendered { duration: (f64::from(rendered) * 1000.0).round() / 1000.0 })
}
