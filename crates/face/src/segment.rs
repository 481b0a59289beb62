//! Person segmentation with MediaPipe's selfie-segmentation model: which
//! pixels of the photo are the person, for `matting` (removing the photo's
//! own background).

use crate::FaceError;
use crate::model::{self, Plan};
use image::{GrayImage, RgbImage};

const MODEL: &[u8] = include_bytes!("../../../assets/models/selfie_segmentation.onnx");
const INPUT: usize = 256;

pub struct Segmenter {
    plan: Plan,
}

impl Segmenter {
    pub fn new() -> Result<Self, FaceError> {
        Ok(Segmenter { plan: model::load(MODEL, INPUT)? })
    }

    /// A mask the size of the photo: 255 where the person is, 0 where the
    /// background is, soft in between.
    pub fn mask(&self, photo: &RgbImage) -> Result<GrayImage, FaceError> {
        // The model takes the whole photo stretched to its square input, values in [0, 1].
        let (sx, sy) = (photo.width() as f32 / INPUT as f32, photo.height() as f32 / INPUT as f32);
        let reduced;
        let source = if sx > 2.0 || sy > 2.0 {
            reduced = image::imageops::resize(
                photo,
                INPUT as u32 * 2,
                INPUT as u32 * 2,
                image::imageops::FilterType::Triangle,
            );
            &reduced
        } else {
            photo
        };
        let (fx, fy) = (source.width() as f32 / INPUT as f32, source.height() as f32 / INPUT as f32);
        let pixels = model::sample_input(source, INPUT, 1.0 / 255.0, 0.0, |u, v| (u * fx, v * fy));
        let outputs = model::run(&self.plan, INPUT, pixels)?;
        let probabilities = outputs.first().ok_or_else(|| FaceError::Model("segmentation gave no output".into()))?;
        let small = GrayImage::from_fn(INPUT as u32, INPUT as u32, |x, y| {
            let p = probabilities[y as usize * INPUT + x as usize];
            image::Luma([(p.clamp(0.0, 1.0) * 255.0).round() as u8])
        });
        Ok(image::imageops::resize(&small, photo.width(), photo.height(), image::imageops::FilterType::Triangle))
    }
}
