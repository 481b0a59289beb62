//! The pipeline: photo + speech → MP4, wiring the pure stages together.
//!
//! `face` (training) → `speech` → `animate` → `render` → `media`. Speech may
//! still be arriving, sentence by sentence, from another thread
//! ([`speak_while_drawing`]): the motion is settled a few seconds of speech
//! behind it, so drawing starts after the first sentences. Frames are drawn
//! on the calling thread (each frame in parallel over row bands) and handed
//! to a writer thread that streams them into ffmpeg, so drawing and
//! encoding overlap and the whole run costs little more than encoding. The
//! writer also hands the first seconds of frames to the GIF preview's own
//! ffmpeg, so no pass decodes the video again. The sound is encoded on its
//! own as soon as all of it is known and joined to the picture at the end.

mod colour;
mod frames;
mod speaking;

pub use colour::{ColourError, parse_colour};
pub use frames::SpeechOverlap;
pub use speaking::{Arriving, SceneSpeech, speak_while_drawing};

use face::{FaceAnalyzer, FaceError, PhotoLimits, Rig, Segmenter};
use image::RgbImage;
use media::MediaError;
use render::{Canvas, Renderer};
use std::sync::Arc;

pub use animate::Expression;
pub use render::{Corner, Layout, PhotoFrame, Watermark};
use speech::{Speech, SpeechError};
use std::path::{Path, PathBuf};
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
    /// Varies the blinks, glances and sway from one video to the next.
    pub seed: u64,
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
            seed: 0,
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
    /// Each scene's speech, whole.
    pub speeches: Vec<Speech>,
    pub timings: StageTimings,
}

/// Wall-clock time of each stage of one render.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimings {
    pub prepare: Duration,
    pub motion: Duration,
    /// Time spent drawing frames (the writer overlaps it with encoding).
    pub draw: Duration,
    /// Time the drawing waited for speech: before the first frame, and
    /// wherever the voice fell behind.
    pub waiting_for_speech: Duration,
    /// From the start of drawing until the file is written, sound and all.
    pub render_and_encode: Duration,
}

/// Where a render writes: the MP4, its JPEG thumbnail and, if asked for,
/// a GIF preview of its first seconds.
#[derive(Debug, Clone, Copy)]
pub struct OutputFiles<'a> {
    pub video: &'a Path,
    pub thumbnail: &'a Path,
    pub gif: Option<&'a Path>,
}

/// The GIF preview shows this many seconds of the video's start, this many pixels wide.
pub const GIF_SECONDS: f32 = 3.0;
pub const GIF_WIDTH: u32 = 320;

/// Loads the face models once; cheap to share.
pub struct Studio {
    analyzer: FaceAnalyzer,
    segmenter: Segmenter,
    limits: PhotoLimits,
    overlap: SpeechOverlap,
}

impl Studio {
    pub fn new() -> Result<Studio, PipelineError> {
        Ok(Studio {
            analyzer: FaceAnalyzer::new()?,
            segmenter: Segmenter::new()?,
            limits: PhotoLimits::default(),
            overlap: SpeechOverlap::Auto,
        })
    }

    /// Whether drawing starts before a scene's speech is whole (by default,
    /// when the machine has the cores for it).
    pub fn with_speech_overlap(mut self, overlap: SpeechOverlap) -> Studio {
        self.overlap = overlap;
        self
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
        self.render_scenes(vec![Scene { photo, rig, speech: SceneSpeech::Ready(speech), spec }], files, progress)
    }

    /// Renders scenes one after another into one video (one encode, so the
    /// sound stays in sync however many scenes there are). Every scene's
    /// audio is padded with silence to a whole number of frames.
    pub fn render_scenes(
        &self,
        scenes: Vec<Scene<'_>>,
        files: OutputFiles<'_>,
        progress: &mut dyn FnMut(f32),
    ) -> Result<RenderedVideo, PipelineError> {
        let first = scenes.first().ok_or(PipelineError::Scenes("a video needs at least one scene".into()))?;
        let (width, height, alpha) = (first.spec.width, first.spec.height, first.spec.alpha);
        let started = Instant::now();
        let mut parts = Vec::with_capacity(scenes.len());
        for (index, scene) in scenes.into_iter().enumerate() {
            let spec = &scene.spec;
            if (spec.width, spec.height, spec.alpha) != (width, height, alpha) {
                return Err(PipelineError::Scenes(format!("scene {} differs in size or transparency", index + 1)));
            }
            let renderer = self.renderer(&scene)?;
            let seed = spec.seed ^ u64::from(scene.rig.width) << 20 ^ (index as u64) << 40;
            parts.push(frames::Part::new(renderer, scene.speech, seed, spec.expression));
        }
        let prepare = started.elapsed();
        let outputs = frames::Outputs { files, width, height, alpha, overlap: self.overlap };
        frames::render(parts, outputs, prepare, progress)
    }

    /// The renderer of one scene.
    fn renderer(&self, scene: &Scene<'_>) -> Result<Renderer, PipelineError> {
        self.frame_renderer(scene.photo, scene.rig, &scene.spec)
    }

    /// Draws frames of `photo` as `spec` describes: the photo placed on
    /// the canvas, its background cut away if asked for, the watermark.
    /// Batch videos and live sessions draw through it alike.
    pub fn frame_renderer(&self, photo: &RgbImage, rig: &Rig, spec: &VideoSpec) -> Result<Renderer, PipelineError> {
        let canvas = Canvas { width: spec.width, height: spec.height, background: spec.background };
        let matte = if spec.matting || spec.alpha { Some(self.segmenter.mask(photo)?) } else { None };
        // With an alpha channel the colour keeps the photo's own pixels
        // (its edges are the person's colours, not blended with a backdrop).
        let colour_matte = if spec.alpha { None } else { matte.as_ref() };
        let mut renderer =
            Renderer::new(photo, rig, canvas, spec.layout, spec.background_image.as_deref(), colour_matte);
        if let (true, Some(matte)) = (spec.alpha, &matte) {
            renderer = renderer.with_alpha(matte, rig, spec.layout);
        }
        if let Some(watermark) = &spec.watermark {
            renderer = renderer.with_watermark(watermark);
        }
        Ok(renderer)
    }
}

/// One scene of a video: who speaks, what, and how it looks.
pub struct Scene<'a> {
    pub photo: &'a RgbImage,
    pub rig: &'a Rig,
    pub speech: SceneSpeech<'a>,
    pub spec: VideoSpec,
}
