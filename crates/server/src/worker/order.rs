//! What a job is asked to make: the video order the API validates and
//! stores with the video, and the worker reads back.

use pipeline::VideoSpec;
use serde::{Deserialize, Serialize};

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
    /// A transparent background: a WebM (VP9 with alpha) instead of an MP4.
    #[serde(default)]
    pub alpha: bool,
    /// A logo stamped over every frame.
    #[serde(default)]
    pub watermark: Option<WatermarkOrder>,
}

/// A watermark, checked: an uploaded image and where and how it shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WatermarkOrder {
    pub asset_id: String,
    /// Width as a fraction of the frame's.
    pub width: f32,
    /// "top_left", "top_right", "bottom_left" or "bottom_right".
    pub corner: String,
    /// From the corner, as fractions of the frame's width and height.
    pub margin: [f32; 2],
    pub opacity: f32,
}

impl WatermarkOrder {
    pub(super) fn with_image(&self, image: std::sync::Arc<image::RgbaImage>) -> pipeline::Watermark {
        let corner = match self.corner.as_str() {
            "top_left" => pipeline::Corner::TopLeft,
            "top_right" => pipeline::Corner::TopRight,
            "bottom_left" => pipeline::Corner::BottomLeft,
            _ => pipeline::Corner::BottomRight,
        };
        pipeline::Watermark { image, width: self.width, corner, margin: self.margin, opacity: self.opacity }
    }
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
    /// The photo fills the frame (cropped) instead of fitting inside it.
    #[serde(default)]
    pub cover: bool,
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
            cover: false,
            background_asset: None,
        }
    }
}

impl Look {
    pub(super) fn apply(&self, spec: &mut VideoSpec) {
        spec.layout = pipeline::Layout {
            scale: self.scale,
            offset: self.offset,
            frame: match self.frame.as_str() {
                "square" => pipeline::PhotoFrame::Square,
                "circle" => pipeline::PhotoFrame::Circle,
                _ => pipeline::PhotoFrame::Full,
            },
            cover: self.cover,
        };
        spec.matting = self.matting;
        spec.expression = pipeline::Expression {
            smile: if self.happy { pipeline::Expression::HAPPY_SMILE } else { 0.0 },
            ..if self.expressive { pipeline::Expression::EXPRESSIVE } else { pipeline::Expression::STABLE }
        };
    }
}
