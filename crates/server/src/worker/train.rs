//! Training: a photo analysed into its rig (face landmarks and mesh),
//! stored once per avatar and reused by every video of it.

use super::{JobError, stored};
use crate::App;
use crate::db::AvatarGroup;
use crate::metrics::Stage;
use face::Rig;
use image::RgbImage;
use pipeline::PipelineError;
use std::time::Instant;

/// Analyses an avatar's photo into its rig (once; later calls reuse it).
pub(super) async fn train(app: &App, group_id: &str) -> Result<(RgbImage, Rig), JobError> {
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
            app.db.set_avatar_rig(group_id, &rig_file, &rig).await?;
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
    app.db.set_avatar_rig(group_id, &rig_file, &rig).await?;
    Ok((photo, rig))
}

/// A training job: the rig, then, for an avatar the key's lists show, its
/// idle clip. (A video job that needs a rig only trains; it never waits
/// for a clip.)
pub(super) async fn train_job(app: &App, group_id: &str) -> Result<(), JobError> {
    let (photo, rig) = train(app, group_id).await?;
    let group = app.db.avatar_group(None, group_id).await?;
    if group.is_some_and(|g| g.listed == 1 && g.preview_video_file.is_none()) {
        idle_clip(app, group_id, &photo, &rig).await;
    }
    Ok(())
}

/// Seconds of the idle clip, and the longer side of its frame.
const IDLE_CLIP: (f32, u32) = (4.0, 512);

/// Renders an avatar's idle clip (blinking and breathing, no words) once
/// it is trained: the look's `preview_video_url`. A failure is logged and
/// leaves the avatar without one; it does not fail the training.
async fn idle_clip(app: &App, group_id: &str, photo: &RgbImage, rig: &Rig) {
    let name = format!("previews/{group_id}.mp4");
    let made = async {
        let scratch = app.store.scratch_dir()?;
        let (video, thumbnail) = (scratch.path().join("idle.mp4"), scratch.path().join("idle.jpg"));
        let (studio, photo, rig) = (app.studio.clone(), photo.clone(), rig.clone());
        let path = video.clone();
        tokio::task::spawn_blocking(move || -> Result<(), PipelineError> {
            let (seconds, side) = IDLE_CLIP;
            let long = photo.width().max(photo.height()) as f32;
            let size = |n: u32| ((n as f32 * side as f32 / long).round() as u32).max(pipeline::MIN_SIDE);
            let spec = pipeline::VideoSpec::new(size(photo.width()), size(photo.height()), [255, 255, 255])?;
            let speech = speech::Speech::silence(seconds, speech::SILENCE_SAMPLE_RATE);
            let files = pipeline::OutputFiles { video: &path, thumbnail: &thumbnail, gif: None };
            studio.render(&photo, &rig, &speech, spec, files, &mut |_| {})?;
            Ok(())
        })
        .await
        .map_err(|e| JobError::Failed(e.to_string()))??;
        app.store.put_file(&name, &video).await?;
        app.db.set_avatar_preview(group_id, &name).await?;
        Ok::<(), JobError>(())
    };
    if let Err(JobError::Failed(error) | JobError::Rejected(error)) = made.await {
        tracing::warn!(%error, avatar = group_id, "cannot render the idle clip of an avatar");
    }
}

/// Where an avatar group's rig is stored.
fn rig_name(group_id: &str) -> String {
    format!("rigs/{group_id}.json")
}

async fn photo_of(app: &App, group: &AvatarGroup) -> Result<Vec<u8>, JobError> {
    let asset = app
        .db
        .asset(&group.key_id, &group.image_asset_id)
        .await?
        .ok_or_else(|| JobError::Rejected(format!("the photo of avatar {} is gone", group.id)))?;
    Ok(app.store.get(&asset.file).await?)
}

/// A talking photo and its rig, trained now if it was not yet.
pub(crate) async fn talking_photo(app: &App, id: &str) -> Result<(RgbImage, Rig), JobError> {
    match train(app, id).await {
        Err(JobError::Rejected(message)) => {
            Err(JobError::Rejected(format!("talking photo {id} cannot be used: {message}")))
        }
        other => other,
    }
}
