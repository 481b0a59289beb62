//! Rendering: one photo, its rig and a [`FaceMotion`] in, one RGB frame out.
//!
//! The photo is fitted once into the output frame over the background
//! colour (the "base"). Each frame, the rig's mesh is deformed by the
//! motion (jaw, lips, eyelids, head) and every triangle is drawn by
//! sampling the base bilinearly through the triangle's affine map from its
//! deformed to its rest position, in parallel over bands of rows. Where the
//! lips part, a mouth interior is painted that the photo never showed.

mod deform;
mod mouth;
mod raster;

use animate::FaceMotion;
use face::Rig;
use image::RgbImage;

/// What the output frame looks like apart from the face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pub background: [u8; 3],
}

/// A photo prepared for rendering at one canvas size.
pub struct Renderer {
    canvas: Canvas,
    base: Vec<u8>,
    /// Rectangle of the frame the photo covers: x0, y0, x1, y1 (exclusive).
    photo_rect: [usize; 4],
    rest: Vec<[f32; 2]>,
    triangles: Vec<[u32; 3]>,
    bases: deform::Bases,
    mouth: mouth::MouthStyle,
}

impl Renderer {
    /// Fits the photo into the canvas (aspect kept, centred) and prepares
    /// the deformation of its rig. `rig` must have been made from `photo`.
    pub fn new(photo: &RgbImage, rig: &Rig, canvas: Canvas) -> Renderer {
        let scale = (canvas.width as f32 / photo.width() as f32).min(canvas.height as f32 / photo.height() as f32);
        let fitted_w = ((photo.width() as f32 * scale).round() as u32).clamp(1, canvas.width);
        let fitted_h = ((photo.height() as f32 * scale).round() as u32).clamp(1, canvas.height);
        let (x0, y0) = ((canvas.width - fitted_w) / 2, (canvas.height - fitted_h) / 2);
        let fitted = image::imageops::resize(photo, fitted_w, fitted_h, image::imageops::FilterType::CatmullRom);
        let mut base = RgbImage::from_pixel(canvas.width, canvas.height, image::Rgb(canvas.background));
        image::imageops::replace(&mut base, &fitted, i64::from(x0), i64::from(y0));
        let (sx, sy) = (fitted_w as f32 / photo.width() as f32, fitted_h as f32 / photo.height() as f32);
        let rest: Vec<[f32; 2]> = rig.vertices.iter().map(|v| [v[0] * sx + x0 as f32, v[1] * sy + y0 as f32]).collect();
        let bases = deform::Bases::new(&rest, rig.skirt_start());
        let mouth = mouth::MouthStyle::from_photo(&base, &rest, bases.unit);
        Renderer {
            canvas,
            base: base.into_raw(),
            photo_rect: [x0 as usize, y0 as usize, (x0 + fitted_w) as usize, (y0 + fitted_h) as usize],
            rest,
            triangles: rig.triangles.clone(),
            bases,
            mouth,
        }
    }

    pub fn canvas(&self) -> Canvas {
        self.canvas
    }

    /// Bytes of one RGB24 frame.
    pub fn frame_len(&self) -> usize {
        self.canvas.width as usize * self.canvas.height as usize * 3
    }

    /// Draws the frame for `motion` into `out` (RGB24, `frame_len()` bytes).
    pub fn render_into(&self, motion: &FaceMotion, out: &mut [u8]) {
        assert_eq!(out.len(), self.frame_len(), "frame buffer size");
        out.copy_from_slice(&self.base);
        let deformed = self.bases.apply(&self.rest, motion);
        let width = self.canvas.width as usize;
        raster::draw_mesh(out, width, &self.base, self.photo_rect, &self.rest, &deformed, &self.triangles);
        let opening = motion.jaw * self.bases.jaw_travel;
        self.mouth.paint(out, width, self.photo_rect, &deformed, opening);
    }

    /// Draws the frame for `motion` as an image.
    pub fn render(&self, motion: &FaceMotion) -> RgbImage {
        let mut frame = vec![0; self.frame_len()];
        self.render_into(motion, &mut frame);
        RgbImage::from_raw(self.canvas.width, self.canvas.height, frame).unwrap_or_default()
    }

    /// Face landmarks of the frame for `motion`, in frame pixels.
    pub fn landmarks(&self, motion: &FaceMotion) -> Vec<[f32; 2]> {
        let mut points = self.bases.apply(&self.rest, motion);
        points.truncate(face::mesh::LANDMARKS);
        points
    }
}
