//! The pipeline: photo + speech → MP4, wiring the pure stages together.
//!
//! `face` (training) → `speech` → `animate` → `render` → `media`. Frames are
//! drawn on the calling thread (each frame in parallel over row bands) and
//! handed to a writer thread that streams them into ffmpeg, so drawing and
//! encoding overlap and the whole run costs little more than encoding.

mod colour;

pub use colour::{ColourError, parse_colour};

use animate::FaceMotion;
use face::{FaceAnalyzer, FaceError, PhotoLimits, Rig, Segmenter};
use image::RgbImage;
use media::{EncodeSettings, Encoder, MediaError};
use render::{Canvas, Renderer};
use std::sync::Arc;

pub use animate::Expression;
pub use render::{Corner, Layout, PhotoFrame, Watermark};
use speech::{Speech, SpeechError};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// HeyGen's limits on `dimension`.
pub const MIN_SIDE: u32 = 128;
pub const MAX_SIDE: u32 = 4096;

#[derive(Debug, Error)]
pub enum PipelineError {
    #[error(transparent)]
    Face(#[from] FaceError),
    #[error(transparent)]
    Speech(#[from] SpeechError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("dimension {width}×{height} is out of range; each side must be {MIN_SIDE}–{MAX_SIDE} pixels")]
    Dimension { width: u32, height: u32 },
    #[error("could not write the thumbnail: {0}")]
    Thumbnail(String),
    #[error("{0}")]
    Scenes(String),
}

/// What the output video looks like.
#[derive(Debug, Clone)]
pub struct VideoSpec {
    pub width: u32,
    pub height: u32,
    pub background: [u8; 3],
    /// An image behind the photo instead of the colour, scaled to cover the frame.
    pub background_image: Option<Arc<RgbImage>>,
    pub layout: Layout,
    pub expression: Expression,
    /// Cut the photo's own background away, so the colour or image shows.
    pub matting: bool,
    /// A transparent background instead (the person's mask as an alpha
    /// channel; the video is then a WebM). Every scene of a video must agree.
    pub alpha: bool,
    /// A logo stamped over every frame.
    pub watermark: Option<render::Watermark>,
}

impl VideoSpec {
    /// Checks HeyGen's bounds and rounds odd sides down to even, which
    /// H.264's 4:2:0 chroma needs.
    pub fn new(width: u32, height: u32, background: [u8; 3]) -> Result<VideoSpec, PipelineError> {
        if !(MIN_SIDE..=MAX_SIDE).contains(&width) || !(MIN_SIDE..=MAX_SIDE).contains(&height) {
            return Err(PipelineError::Dimension { width, height });
        }
        Ok(VideoSpec {
            width: width & !1,
            height: height & !1,
            background,
            background_image: None,
            layout: Layout::default(),
            expression: Expression::default(),
            matting: false,
            alpha: false,
            watermark: None,
        })
    }
}

/// Files a render produced.
#[derive(Debug, Clone)]
pub struct RenderedVideo {
    pub video: PathBuf,
    pub thumbnail: PathBuf,
    pub frames: usize,
    /// Seconds of video.
    pub duration: f32,
    /// When each scene starts, in seconds.
    pub scene_starts: Vec<f32>,
    pub timings: StageTimings,
}

/// Wall-clock time of each stage of one render.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimings {
    pub prepare: Duration,
    pub motion: Duration,
    /// Time spent drawing frames (the writer overlaps it with encoding).
    pub draw: Duration,
    /// From the first frame drawn until ffmpeg has written the file.
    pub render_and_encode: Duration,
}

/// Where a render writes: the MP4 and its JPEG thumbnail.
#[derive(Debug, Clone, Copy)]
pub struct OutputFiles<'a> {
    pub video: &'a Path,
    pub thumbnail: &'a Path,
}

/// Loads the face models once; cheap to share.
pub struct Studio {
    analyzer: FaceAnalyzer,
    segmenter: Segmenter,
    limits: PhotoLimits,
}

impl Studio {
    pub fn new() -> Result<Studio, PipelineError> {
        Ok(Studio { analyzer: FaceAnalyzer::new()?, segmenter: Segmenter::new()?, limits: PhotoLimits::default() })
    }

    /// Decodes a photo with the studio's limits.
    pub fn decode(&self, bytes: &[u8]) -> Result<RgbImage, PipelineError> {
        Ok(face::decode_photo(bytes, self.limits)?)
    }

    /// "Training": analyses a photo into a rig.
    pub fn train(&self, photo: &RgbImage) -> Result<Rig, PipelineError> {
        Ok(self.analyzer.analyze(photo)?)
    }

    /// Renders `speech` spoken by the face of `photo` into the output
    /// files, reporting progress from 0 to 1.
    pub fn render(
        &self,
        photo: &RgbImage,
        rig: &Rig,
        speech: &Speech,
        spec: VideoSpec,
        files: OutputFiles<'_>,
        progress: &mut dyn FnMut(f32),
    ) -> Result<RenderedVideo, PipelineError> {
        self.render_scenes(&[Scene { photo, rig, speech, spec }], files, progress)
    }

    /// Renders scenes one after another into one video (one encode, so the
    /// sound stays in sync however many scenes there are). Every scene's
    /// audio is padded with silence to a whole number of frames.
    pub fn render_scenes(
        &self,
        scenes: &[Scene<'_>],
        files: OutputFiles<'_>,
        progress: &mut dyn FnMut(f32),
    ) -> Result<RenderedVideo, PipelineError> {
        let OutputFiles { video, thumbnail } = files;
        let first = scenes.first().ok_or(PipelineError::Scenes("a video needs at least one scene".into()))?;
        let (width, height, sample_rate) = (first.spec.width, first.spec.height, first.speech.sample_rate);
        let started = Instant::now();
        let mut parts = Vec::with_capacity(scenes.len());
        let mut samples: Vec<i16> = Vec::new();
        let mut scene_starts = Vec::with_capacity(scenes.len());
        let mut motion = Duration::ZERO;
        for (index, scene) in scenes.iter().enumerate() {
            let spec = &scene.spec;
            if (spec.width, spec.height, spec.alpha) != (width, height, first.spec.alpha)
                || scene.speech.sample_rate != sample_rate
            {
                return Err(PipelineError::Scenes(format!(
                    "scene {} differs in size, transparency or sample rate",
                    index + 1
                )));
            }
            let canvas = Canvas { width, height, background: spec.background };
            let matte = if spec.matting || spec.alpha { Some(self.segmenter.mask(scene.photo)?) } else { None };
            // With an alpha channel the colour keeps the photo's own pixels
            // (its edges are the person's colours, not blended with a backdrop).
            let colour_matte = if spec.alpha { None } else { matte.as_ref() };
            let mut renderer = Renderer::new(
                scene.photo,
                scene.rig,
                canvas,
                spec.layout,
                spec.background_image.as_deref(),
                colour_matte,
            );
            if let (true, Some(matte)) = (spec.alpha, &matte) {
                renderer = renderer.with_alpha(matte, scene.rig, spec.layout);
            }
            if let Some(watermark) = &spec.watermark {
                renderer = renderer.with_watermark(watermark);
            }
            let timed = Instant::now();
            let seed = scene.speech.samples.len() as u64 ^ u64::from(scene.rig.width) << 20 ^ (index as u64) << 40;
            let track = animate::motion_track(scene.speech, seed, spec.expression);
            motion += timed.elapsed();
            scene_starts.push(samples.len() as f32 / sample_rate as f32);
            samples.extend_from_slice(&scene.speech.samples);
            let scene_end = (scene_starts[index] * animate::FPS as f32).round() as usize + track.len();
            samples.resize(scene_end * sample_rate as usize / animate::FPS as usize, 0);
            parts.push((renderer, track));
        }
        // One level for the whole video, so scenes keep their loudness relative to each other.
        speech::audio::normalize_loudness(&mut samples, sample_rate);
        let audio = video.with_extension("wav");
        media::write_wav(&audio, sample_rate, &samples)?;
        let prepare = started.elapsed() - motion;

        let settings = EncodeSettings {
            width,
            height,
            fps: animate::FPS,
            audio: Some(audio.clone()),
            alpha: first.spec.alpha,
            output: video.to_path_buf(),
        };
        let started = Instant::now();
        let result = stream_frames(&parts, &settings, thumbnail, progress);
        let _ = std::fs::remove_file(&audio);
        let draw = result?;
        let timings = StageTimings { prepare, motion, draw, render_and_encode: started.elapsed() };
        let frames: usize = parts.iter().map(|(_, track)| track.len()).sum();
        Ok(RenderedVideo {
            video: video.to_path_buf(),
            thumbnail: thumbnail.to_path_buf(),
            frames,
            duration: frames as f32 / animate::FPS as f32,
            scene_starts,
            timings,
        })
    }
}

/// One scene of a video: who speaks, what, and how it looks.
pub struct Scene<'a> {
    pub photo: &'a RgbImage,
    pub rig: &'a Rig,
    pub speech: &'a Speech,
    pub spec: VideoSpec,
}

/// Frames in flight between the drawing thread and the ffmpeg writer.
const QUEUE_FRAMES: usize = 4;

/// Draws every frame of every scene and streams it to ffmpeg; returns the drawing time.
fn stream_frames(
    parts: &[(Renderer, Vec<FaceMotion>)],
    settings: &EncodeSettings,
    thumbnail: &Path,
    progress: &mut dyn FnMut(f32),
) -> Result<Duration, PipelineError> {
    let mut encoder = Encoder::start(settings)?;
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE_FRAMES);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    let writer = std::thread::spawn(move || -> Result<Encoder, MediaError> {
        for frame in full_rx {
            encoder.write_frame(&frame)?;
            // The drawing side may already be gone after an error; the buffer is then simply freed.
            let _ = empty_tx.send(frame);
        }
        Ok(encoder)
    });
    let total: usize = parts.iter().map(|(_, track)| track.len()).sum();
    let mut drawing = Duration::ZERO;
    let mut send_failed = false;
    let mut index = 0;
    'scenes: for (renderer, track) in parts {
        for motion in track {
            let mut frame = empty_rx.try_recv().unwrap_or_else(|_| vec![0; renderer.frame_len()]);
            let started = Instant::now();
            renderer.render_into(motion, &mut frame);
            drawing += started.elapsed();
            if index == 0 {
                save_thumbnail(&frame, renderer.canvas(), thumbnail)?;
            }
            if full_tx.send(frame).is_err() {
                send_failed = true;
                break 'scenes;
            }
            index += 1;
            progress(index as f32 / total as f32);
        }
    }
    drop(full_tx);
    let encoder = writer
        .join()
        .map_err(|_| MediaError::ToolFailed { tool: "ffmpeg", message: "frame writer panicked".into() })??;
    if send_failed {
        return Err(MediaError::ToolFailed { tool: "ffmpeg", message: "encoder stopped early".into() }.into());
    }
    encoder.finish()?;
    Ok(drawing)
}

/// The first frame as a JPEG (its colour only, when it has an alpha channel).
fn save_thumbnail(frame: &[u8], canvas: Canvas, path: &Path) -> Result<(), PipelineError> {
    let pixels = (canvas.width * canvas.height) as usize;
    let rgb = match frame.len() / pixels.max(1) {
        4 => frame.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        _ => frame.to_vec(),
    };
    let image = RgbImage::from_raw(canvas.width, canvas.height, rgb)
        .ok_or_else(|| PipelineError::Thumbnail("frame size mismatch".into()))?;
    image.save_with_format(path, image::ImageFormat::Jpeg).map_err(|e| PipelineError::Thumbnail(e.to_string()))
}
