//! Rendering: one photo, its rig and a [`FaceMotion`] in, one RGB frame out.
//!
//! The photo is fitted once into the output frame over the background
//! colour (the "base"). Each frame, the rig's mesh is deformed by the
//! motion (jaw, lips, eyelids, head) and every triangle is drawn by
//! sampling the base bilinearly through the triangle's affine map from its
//! deformed to its rest position, in parallel over bands of rows. Where the
//! lips part, a mouth interior is painted that the photo never showed.

mod compose;
mod deform;
mod eyelids;
mod mouth;
mod raster;
mod shape;

use animate::FaceMotion;
use face::Rig;
use image::{GrayImage, RgbImage};

pub use compose::{Layout, PhotoFrame};

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
    placement: compose::Placement,
    rest: Vec<[f32; 2]>,
    triangles: Vec<[u32; 3]>,
    bases: deform::Bases,
    mouth: mouth::MouthStyle,
    lids: eyelids::LidStyle,
}

impl Renderer {
    /// Places the photo in the canvas as `layout` says, over the canvas
    /// colour or `background` (an image scaled to cover the frame) — with
    /// its own background cut away where `matte` (as big as the photo) says — and
    /// prepares the deformation of its rig. `rig` must have been made from `photo`.
    pub fn new(
        photo: &RgbImage,
        rig: &Rig,
        canvas: Canvas,
        layout: Layout,
        background: Option<&RgbImage>,
        matte: Option<&GrayImage>,
    ) -> Renderer {
        let backdrop = compose::Backdrop { colour: canvas.background, image: background, matte };
        let mut placement = compose::place(photo, rig, (canvas.width, canvas.height), &backdrop, layout);
        let (scale, origin) = (placement.scale, placement.origin);
        let rest: Vec<[f32; 2]> =
            rig.vertices.iter().map(|v| [v[0] * scale + origin[0], v[1] * scale + origin[1]]).collect();
        let head = (0..rest.len()).map(|i| rig.head_follow(i)).collect();
        let bases = deform::Bases::new(&rest, rig.skirt_start(), head);
        let mouth = mouth::MouthStyle::from_photo(&placement.base, &rest, bases.unit);
        let lids = eyelids::LidStyle::from_photo(&placement.base, &rest, bases.unit);
        let base = std::mem::take(&mut placement.base).into_raw();
        Renderer { canvas, base, placement, rest, triangles: rig.triangles.clone(), bases, mouth, lids }
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
        let rect = self.placement.rect;
        raster::draw_mesh(out, width, &self.base, rect, &self.rest, &deformed, &self.triangles);
        let still = FaceMotion { jaw: 0.0, width: 0.0, round: 0.0, smile: 0.0, close: 0.0, ..*motion };
        let skull = self.bases.apply(&self.rest, &still);
        let pose = mouth::MouthPose {
            deformed: &deformed,
            skull: &skull,
            opening: motion.jaw * self.bases.jaw_travel,
            closing: motion.close,
        };
        self.mouth.paint(out, width, rect, &pose);
        if motion.blink.iter().any(|&b| b > 0.0) {
            let open = self.bases.apply(&self.rest, &FaceMotion { blink: [0.0, 0.0], ..*motion });
            self.lids.paint(out, width, rect, &open, &deformed, motion.blink);
        }
        if self.placement.circle.is_some() {
            // The mesh may reach past the circle's edge: cut it again where it moved.
            let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
            for p in &deformed {
                for axis in 0..2 {
                    lo[axis] = lo[axis].min(p[axis]);
                    hi[axis] = hi[axis].max(p[axis]);
                }
            }
            let clamp = |v: f32, lo: usize, hi: usize| (v.max(0.0) as usize).clamp(lo, hi);
            let region = [
                clamp(lo[0].floor(), rect[0], rect[2]),
                clamp(lo[1].floor(), rect[1], rect[3]),
                clamp(hi[0].ceil() + 1.0, rect[0], rect[2]),
                clamp(hi[1].ceil() + 1.0, rect[1], rect[3]),
            ];
            self.placement.cut_circle(out, width, region);
        }
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
