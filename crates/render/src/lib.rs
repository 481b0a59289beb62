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
mod irises;
mod mouth;
mod raster;
mod shape;
mod watermark;

use animate::FaceMotion;
use face::Rig;
use image::{GrayImage, RgbImage};

pub use compose::{Layout, PhotoFrame};
pub use watermark::{Corner, Watermark};

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
    irises: Option<irises::Irises>,
    /// The person's coverage, when frames carry an alpha channel.
    alpha: Option<AlphaLayer>,
    /// A watermark stamped over every frame.
    stamp: Option<watermark::Stamp>,
}

/// Where the person is (255) and is not (0), placed as the photo is and
/// drawn through the same mesh each frame, so the edge moves with the head.
/// Kept as grey RGB so the colour rasteriser draws it unchanged.
struct AlphaLayer {
    base: Vec<u8>,
    placement: compose::Placement,
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
        let depth: Vec<f32> = rig.depth().iter().map(|z| z * scale).collect();
        let head = (0..rest.len()).map(|i| rig.head_follow(i)).collect();
        let bases = deform::Bases::new(&rest, &depth, rig.skirt_start(), head);
        let mouth = mouth::MouthStyle::from_photo(&placement.base, &rest, bases.unit, scale);
        let lids = eyelids::LidStyle::from_photo(&placement.base, &rest, bases.unit);
        let irises = irises::Irises::new(&rig.irises, scale, origin);
        let base = std::mem::take(&mut placement.base).into_raw();
        let triangles = rig.triangles.clone();
        Renderer { canvas, base, placement, rest, triangles, bases, mouth, lids, irises, alpha: None, stamp: None }
    }

    /// Makes every frame RGBA: an alpha channel from `matte` (the person's
    /// mask, as big as the photo), transparent where the photo's own
    /// background was. `layout` and `rig` must be those given to `new`.
    pub fn with_alpha(mut self, matte: &GrayImage, rig: &Rig, layout: Layout) -> Renderer {
        let grey = image::DynamicImage::ImageLuma8(matte.clone()).to_rgb8();
        let none = compose::Backdrop { colour: [0, 0, 0], image: None, matte: None };
        let mut placement = compose::place(&grey, rig, (self.canvas.width, self.canvas.height), &none, layout);
        let base = std::mem::take(&mut placement.base).into_raw();
        self.alpha = Some(AlphaLayer { base, placement });
        self
    }

    pub fn canvas(&self) -> Canvas {
        self.canvas
    }

    /// Stamps `watermark` over every frame.
    pub fn with_watermark(mut self, watermark: &Watermark) -> Renderer {
        self.stamp = Some(watermark::Stamp::new(watermark, (self.canvas.width, self.canvas.height)));
        self
    }

    /// Whether frames are RGBA (see [`Renderer::with_alpha`]) rather than RGB.
    pub fn has_alpha(&self) -> bool {
        self.alpha.is_some()
    }

    /// Bytes of one frame: RGB24, or RGBA with an alpha channel.
    pub fn frame_len(&self) -> usize {
        let pixels = self.canvas.width as usize * self.canvas.height as usize;
        pixels * if self.alpha.is_some() { 4 } else { 3 }
    }

    /// Draws the frame for `motion` into `out` (`frame_len()` bytes: RGB24,
    /// or RGBA when the renderer has an alpha channel).
    pub fn render_into(&self, motion: &FaceMotion, out: &mut [u8]) {
        assert_eq!(out.len(), self.frame_len(), "frame buffer size");
        let rgb_len = self.base.len();
        self.render_rgb(motion, &mut out[..rgb_len]);
        if let Some(alpha) = &self.alpha {
            let mut coverage = alpha.base.clone();
            let width = self.canvas.width as usize;
            let posed = self.bases.pose(&self.rest, motion);
            raster::draw_mesh(
                &mut coverage,
                width,
                &alpha.base,
                self.placement.rect,
                &self.rest,
                &posed,
                &self.triangles,
            );
            if alpha.placement.circle.is_some() {
                alpha.placement.cut_circle(&mut coverage, width, self.moved_region(&posed.points));
            }
            // RGB to RGBA in place, from the end so nothing is overwritten before it is moved.
            for pixel in (0..rgb_len / 3).rev() {
                out.copy_within(pixel * 3..pixel * 3 + 3, pixel * 4);
                out[pixel * 4 + 3] = coverage[pixel * 3];
            }
        }
        if let Some(stamp) = &self.stamp {
            let channels = if self.alpha.is_some() { 4 } else { 3 };
            stamp.apply(out, self.canvas.width as usize, channels);
        }
    }

    /// The part of the frame the mesh may have moved into (the placed photo's
    /// rectangle, narrowed to the deformed points' bounds).
    fn moved_region(&self, deformed: &[[f32; 2]]) -> [usize; 4] {
        let rect = self.placement.rect;
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for p in deformed {
            for axis in 0..2 {
                lo[axis] = lo[axis].min(p[axis]);
                hi[axis] = hi[axis].max(p[axis]);
            }
        }
        let clamp = |v: f32, lo: usize, hi: usize| (v.max(0.0) as usize).clamp(lo, hi);
        [
            clamp(lo[0].floor(), rect[0], rect[2]),
            clamp(lo[1].floor(), rect[1], rect[3]),
            clamp(hi[0].ceil() + 1.0, rect[0], rect[2]),
            clamp(hi[1].ceil() + 1.0, rect[1], rect[3]),
        ]
    }

    /// Draws the colour of the frame for `motion` into `out` (RGB24).
    fn render_rgb(&self, motion: &FaceMotion, out: &mut [u8]) {
        out.copy_from_slice(&self.base);
        let posed = self.bases.pose(&self.rest, motion);
        let width = self.canvas.width as usize;
        let rect = self.placement.rect;
        raster::draw_mesh(out, width, &self.base, rect, &self.rest, &posed, &self.triangles);
        let deformed = posed.points;
        if let Some(irises) = &self.irises {
            irises.paint(out, width, rect, &self.rest, &deformed, motion.gaze);
        }
        let still = FaceMotion { jaw: 0.0, width: 0.0, round: 0.0, tuck: 0.0, smile: 0.0, close: 0.0, ..*motion };
        let skull = self.bases.apply(&self.rest, &still);
        let pose = mouth::MouthPose {
            deformed: &deformed,
            skull: &skull,
            opening: motion.jaw * self.bases.jaw_travel,
            closing: motion.close,
            tongue_tip: motion.tongue,
        };
        self.mouth.paint(out, width, rect, &pose);
        if motion.blink.iter().any(|&b| b > 0.0) {
            let open = self.bases.apply(&self.rest, &FaceMotion { blink: [0.0, 0.0], ..*motion });
            self.lids.paint(out, width, rect, &open, &deformed, motion.blink);
        }
        if self.placement.circle.is_some() {
            // The mesh may reach past the circle's edge: cut it again where it moved.
            self.placement.cut_circle(out, width, self.moved_region(&deformed));
        }
    }

    /// Draws the colour of the frame for `motion` as an image.
    pub fn render(&self, motion: &FaceMotion) -> RgbImage {
        let mut frame = vec![0; self.base.len()];
        self.render_rgb(motion, &mut frame);
        RgbImage::from_raw(self.canvas.width, self.canvas.height, frame).unwrap_or_default()
    }

    /// Face landmarks of the frame for `motion`, in frame pixels.
    pub fn landmarks(&self, motion: &FaceMotion) -> Vec<[f32; 2]> {
        let mut points = self.bases.apply(&self.rest, motion);
        points.truncate(face::mesh::LANDMARKS);
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use face::{FaceAnalyzer, PhotoLimits, decode_photo, mesh};

    const ASTRONAUT: &[u8] = include_bytes!("../../../assets/portraits/astronaut.png");

    /// Whether `p` lies inside the closed polygon `outline`.
    fn inside(outline: &[[f32; 2]], p: [f32; 2]) -> bool {
        let mut inside = false;
        for (i, a) in outline.iter().enumerate() {
            let b = outline[(i + 1) % outline.len()];
            if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]) {
                inside = !inside;
            }
        }
        inside
    }

    #[test]
    fn a_turned_head_leaves_no_hole_in_the_face() {
        let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode");
        let rig = FaceAnalyzer::new().expect("models").analyze(&photo).expect("face");
        let canvas = Canvas { width: 720, height: 720, background: [255, 255, 255] };
        let layout = Layout { frame: PhotoFrame::Square, ..Layout::default() };
        let renderer = Renderer::new(&photo, &rig, canvas, layout, None, None);
        // Magenta where nothing is drawn: no pixel of the photo is exactly that.
        const UNDRAWN: [u8; 3] = [255, 0, 255];
        for (yaw, pitch) in [(6f32, 0f32), (-6.0, 0.0), (0.0, 6.0), (0.0, -6.0), (6.0, 4.0)] {
            let motion =
                FaceMotion { yaw: yaw.to_radians(), pitch: pitch.to_radians(), jaw: 0.4, ..FaceMotion::default() };
            let posed = renderer.bases.pose(&renderer.rest, &motion);
            let mut frame: Vec<u8> = std::iter::repeat_n(UNDRAWN, renderer.frame_len() / 3).flatten().collect();
            raster::draw_mesh(
                &mut frame,
                720,
                &renderer.base,
                renderer.placement.rect,
                &renderer.rest,
                &posed,
                &renderer.triangles,
            );
            let outline: Vec<[f32; 2]> = mesh::FACE_OVAL.iter().map(|&i| posed.points[i]).collect();
            let holes = (0..720 * 720)
                .filter(|&i| inside(&outline, [(i % 720) as f32 + 0.5, (i / 720) as f32 + 0.5]))
                .filter(|&i| frame[i * 3..i * 3 + 3] == UNDRAWN)
                .count();
            assert_eq!(holes, 0, "yaw {yaw}°, pitch {pitch}°: {holes} pixels of the face left undrawn");
            // The turn is real: the nose tip moves further than the outline by the ears.
            let rest = renderer.landmarks(&FaceMotion::default());
            let moved = |i: usize| posed.points[i][0] - rest[i][0];
            if yaw != 0.0 {
                assert!(
                    moved(1).abs() > moved(234).abs() + 2.0 && moved(1).abs() > moved(454).abs() + 2.0,
                    "nose {} ears {} {}",
                    moved(1),
                    moved(234),
                    moved(454)
                );
            }
        }
    }
}
