//! Loading an embedded ONNX graph into a tract plan, and sampling the
//! photo into a model's input tensor.

use crate::FaceError;
use image::RgbImage;
use std::sync::Arc;
use tract_onnx::prelude::*;

pub(crate) type Plan = Arc<TypedRunnableModel>;

/// Parses, types and optimises an ONNX graph whose one input is a
/// `1×size×size×3` float image (NHWC, as the TFLite originals).
pub(crate) fn load(onnx: &[u8], size: usize) -> Result<Plan, FaceError> {
    tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(onnx))
        .and_then(|model| model.with_input_fact(0, f32::fact([1, size, size, 3]).into()))
        .and_then(|model| model.into_optimized())
        .and_then(|model| model.into_runnable())
        .map_err(FaceError::model)
}

/// Runs a plan on one NHWC image and returns every output flattened.
pub(crate) fn run(plan: &Plan, size: usize, pixels: Vec<f32>) -> Result<Vec<Vec<f32>>, FaceError> {
    let input = Tensor::from_shape(&[1, size, size, 3], &pixels).map_err(FaceError::model)?;
    let outputs = plan.run(tvec!(input.into_tvalue())).map_err(FaceError::model)?;
    outputs
        .iter()
        .map(|output| {
            output.to_plain_array_view::<f32>().map(|view| view.iter().copied().collect()).map_err(FaceError::model)
        })
        .collect()
}

/// Fills a `size×size` RGB tensor by sampling the photo bilinearly at
/// `to_photo(column, row)`; points outside the photo read as black, as
/// MediaPipe's own crops do. `scale` and `offset` map 0..255 to the model's range.
pub(crate) fn sample_input(
    photo: &RgbImage,
    size: usize,
    scale: f32,
    offset: f32,
    to_photo: impl Fn(f32, f32) -> (f32, f32),
) -> Vec<f32> {
    let mut pixels = Vec::with_capacity(size * size * 3);
    for row in 0..size {
        for column in 0..size {
            let (x, y) = to_photo(column as f32 + 0.5, row as f32 + 0.5);
            for value in bilinear(photo, x - 0.5, y - 0.5) {
                pixels.push(value * scale + offset);
            }
        }
    }
    pixels
}

fn bilinear(photo: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (width, height) = (photo.width() as i64, photo.height() as i64);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let mut out = [0.0f32; 3];
    for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
        for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
            let (px, py) = (x0 as i64 + dx, y0 as i64 + dy);
            if px < 0 || py < 0 || px >= width || py >= height {
                continue;
            }
            let pixel = photo.get_pixel(px as u32, py as u32).0;
            for channel in 0..3 {
                out[channel] += f32::from(pixel[channel]) * wx * wy;
            }
        }
    }
    out
}
