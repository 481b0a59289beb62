//! A watermark: an image (a logo, with its own transparency) stamped over
//! every frame in a corner, at a size relative to the frame and an opacity.

use image::RgbaImage;
use image::imageops::FilterType;
use std::sync::Arc;

/// Which corner of the frame a watermark sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

/// A watermark as asked for, independent of the frame size.
#[derive(Debug, Clone)]
pub struct Watermark {
    pub image: Arc<RgbaImage>,
    /// Its width as a fraction of the frame's width.
    pub width: f32,
    pub corner: Corner,
    /// Distance from the corner, as fractions of the frame's width and height.
    pub margin: [f32; 2],
    /// 0 (invisible) to 1 (as the image is).
    pub opacity: f32,
}

/// A watermark scaled and placed for one frame size.
pub(crate) struct Stamp {
    image: RgbaImage,
    left: usize,
    top: usize,
    opacity: f32,
}

impl Stamp {
    pub(crate) fn new(watermark: &Watermark, frame: (u32, u32)) -> Stamp {
        let (frame_w, frame_h) = (frame.0 as f32, frame.1 as f32);
        let (w, h) = (watermark.image.width().max(1) as f32, watermark.image.height().max(1) as f32);
        let width = (frame_w * watermark.width).clamp(1.0, frame_w);
        let height = (h * width / w).clamp(1.0, frame_h);
        let image = image::imageops::resize(&*watermark.image, width as u32, height as u32, FilterType::CatmullRom);
        let (margin_x, margin_y) = (watermark.margin[0] * frame_w, watermark.margin[1] * frame_h);
        let (right, bottom) = (frame_w - image.width() as f32 - margin_x, frame_h - image.height() as f32 - margin_y);
        let (x, y) = match watermark.corner {
            Corner::TopLeft => (margin_x, margin_y),
            Corner::TopRight => (right, margin_y),
            Corner::BottomLeft => (margin_x, bottom),
            Corner::BottomRight => (right, bottom),
        };
        let place = |v: f32, room: f32| v.clamp(0.0, room.max(0.0)).round() as usize;
        Stamp {
            left: place(x, frame_w - image.width() as f32),
            top: place(y, frame_h - image.height() as f32),
            image,
            opacity: watermark.opacity.clamp(0.0, 1.0),
        }
    }

    /// Blends the watermark into a frame `width` pixels wide with
    /// `channels` bytes a pixel (3, or 4 with alpha, which it makes opaque
    /// where the watermark covers).
    pub(crate) fn apply(&self, frame: &mut [u8], width: usize, channels: usize) {
        for (x, y, pixel) in self.image.enumerate_pixels() {
            let a = f32::from(pixel[3]) / 255.0 * self.opacity;
            if a <= 0.0 {
                continue;
            }
            let at = ((self.top + y as usize) * width + self.left + x as usize) * channels;
            let Some(under) = frame.get_mut(at..at + channels) else { continue };
            for c in 0..3 {
                under[c] = (f32::from(pixel[c]) * a + f32::from(under[c]) * (1.0 - a) + 0.5) as u8;
            }
            if channels == 4 {
                under[3] = (255.0 * a + f32::from(under[3]) * (1.0 - a) + 0.5) as u8;
            }
        }
    }
}
