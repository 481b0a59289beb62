//! Placing the photo in the frame: HeyGen's `scale`, `offset` and
//! `talking_photo_style` (the whole photo, a square around the face, or a
//! circle), over a colour or an image background.

use face::Rig;
use image::imageops::FilterType;
use image::{GrayImage, RgbImage};

/// How the photo is cut out before it is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhotoFrame {
    /// The whole photo.
    #[default]
    Full,
    /// A square around the head.
    Square,
    /// The same square, cut to a circle.
    Circle,
}

/// Where and how large the photo sits in the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// 1 fits the (cut-out) photo inside the frame; 2 doubles it.
    pub scale: f32,
    /// Shift of the photo's centre, as fractions of the frame's width and height.
    pub offset: [f32; 2],
    pub frame: PhotoFrame,
    /// Fill the frame with the photo (cropping it) instead of fitting the
    /// whole photo inside it.
    pub cover: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Layout { scale: 1.0, offset: [0.0, 0.0], frame: PhotoFrame::Full, cover: false }
    }
}

impl Layout {
    /// Fills a frame of `size` with a square of the photo around the face,
    /// `eye_distances` wide (a video call's head and shoulders at about 7),
    /// kept inside the photo: the whole photo when it is smaller.
    pub fn around_face(rig: &Rig, size: (u32, u32), eye_distances: f32) -> Layout {
        let (photo_w, photo_h) = (rig.width.max(1) as f32, rig.height.max(1) as f32);
        let side = (eye_distances * rig.eye_distance()).min(photo_w).min(photo_h).max(1.0);
        let eyes_and_mouth = rig.centroid(&[33, 263, 13, 14]);
        let centre = [
            eyes_and_mouth[0].clamp(side / 2.0, photo_w - side / 2.0),
            eyes_and_mouth[1].clamp(side / 2.0, photo_h - side / 2.0),
        ];
        let (width, height) = (size.0 as f32, size.1 as f32);
        let cover = (width / photo_w).max(height / photo_h);
        let pixels_per_photo_pixel = width.max(height) / side;
        Layout {
            scale: pixels_per_photo_pixel / cover,
            offset: [
                -(centre[0] - photo_w / 2.0) * pixels_per_photo_pixel / width,
                -(centre[1] - photo_h / 2.0) * pixels_per_photo_pixel / height,
            ],
            frame: PhotoFrame::Full,
            cover: true,
        }
    }
}

/// The photo placed in a frame, with everything the renderer needs.
pub(crate) struct Placement {
    /// The first frame before any motion: background plus photo.
    pub base: RgbImage,
    /// The background alone (only kept for the circle, to re-cut its edge).
    pub backdrop: Option<Vec<u8>>,
    /// Photo pixels → frame pixels: scale, then offset.
    pub scale: f32,
    pub origin: [f32; 2],
    /// Part of the frame the photo covers: x0, y0, x1, y1 (exclusive).
    pub rect: [usize; 4],
    /// Centre and radius of the circle cut, in frame pixels.
    pub circle: Option<([f32; 2], f32)>,
}

/// Background of the frame: an image, scaled to cover it (cropped to the
/// frame's aspect), or the colour.
fn backdrop(width: u32, height: u32, colour: [u8; 3], image: Option<&RgbImage>) -> RgbImage {
    match image {
        Some(image) => {
            let scale = (width as f32 / image.width() as f32).max(height as f32 / image.height() as f32);
            let (w, h) = ((image.width() as f32 * scale).ceil() as u32, (image.height() as f32 * scale).ceil() as u32);
            let covered = image::imageops::resize(image, w.max(width), h.max(height), FilterType::Triangle);
            let (x, y) = ((covered.width() - width) / 2, (covered.height() - height) / 2);
            image::imageops::crop_imm(&covered, x, y, width, height).to_image()
        }
        None => RgbImage::from_pixel(width, height, image::Rgb(colour)),
    }
}

/// The square of the photo around the head: about five eye distances wide,
/// centred between the eyes and the mouth, kept inside the photo.
fn head_square(photo: &RgbImage, rig: &Rig) -> [u32; 4] {
    let (w, h) = (photo.width() as f32, photo.height() as f32);
    let side = (5.0 * rig.eye_distance()).min(w).min(h).max(1.0);
    let centre = rig.centroid(&[33, 263, 13, 14]);
    let x = (centre[0] - side / 2.0).clamp(0.0, w - side);
    let y = (centre[1] - side / 2.0).clamp(0.0, h - side);
    [x as u32, y as u32, side as u32, side as u32]
}

/// What is behind the photo, and whether the photo's own background is cut away.
pub(crate) struct Backdrop<'a> {
    pub colour: [u8; 3],
    pub image: Option<&'a RgbImage>,
    /// Where the photo shows a person (255) rather than its background (0).
    pub matte: Option<&'a GrayImage>,
}

pub(crate) fn place(
    photo: &RgbImage,
    rig: &Rig,
    size: (u32, u32),
    backdrop_of: &Backdrop,
    layout: Layout,
) -> Placement {
    let (colour, background_image) = (backdrop_of.colour, backdrop_of.image);
    let (width, height) = size;
    let mut base = backdrop(width, height, colour, background_image);
    let [cx, cy, cw, ch] = match layout.frame {
        PhotoFrame::Full => [0, 0, photo.width(), photo.height()],
        PhotoFrame::Square | PhotoFrame::Circle => head_square(photo, rig),
    };
    let (across, down) = (width as f32 / cw as f32, height as f32 / ch as f32);
    let fit = if layout.cover { across.max(down) } else { across.min(down) } * layout.scale.max(0.01);
    let (placed_w, placed_h) = (((cw as f32 * fit).round() as u32).max(1), ((ch as f32 * fit).round() as u32).max(1));
    let left = ((width as f32 - placed_w as f32) / 2.0 + layout.offset[0] * width as f32).round() as i64;
    let top = ((height as f32 - placed_h as f32) / 2.0 + layout.offset[1] * height as f32).round() as i64;
    let cut = image::imageops::crop_imm(photo, cx, cy, cw, ch).to_image();
    let placed = image::imageops::resize(&cut, placed_w, placed_h, FilterType::CatmullRom);
    let circle = (layout.frame == PhotoFrame::Circle).then(|| {
        ([left as f32 + placed_w as f32 / 2.0, top as f32 + placed_h as f32 / 2.0], placed_w.min(placed_h) as f32 / 2.0)
    });
    let backdrop = circle.map(|_| base.as_raw().clone());
    match backdrop_of.matte {
        Some(matte) => {
            let cut_matte = image::imageops::crop_imm(matte, cx, cy, cw, ch).to_image();
            let alpha = image::imageops::resize(&cut_matte, placed_w, placed_h, FilterType::Triangle);
            blend(&mut base, &placed, &alpha, left, top);
        }
        None => image::imageops::replace(&mut base, &placed, left, top),
    }
    let clamp = |v: i64, max: u32| v.clamp(0, i64::from(max)) as usize;
    let rect = [
        clamp(left, width),
        clamp(top, height),
        clamp(left + i64::from(placed_w), width),
        clamp(top + i64::from(placed_h), height),
    ];
    let mut placement = Placement {
        base,
        backdrop,
        scale: placed_w as f32 / cw as f32,
        origin: [
            left as f32 - cx as f32 * placed_w as f32 / cw as f32,
            top as f32 - cy as f32 * placed_h as f32 / ch as f32,
        ],
        rect,
        circle,
    };
    let mut pixels = std::mem::take(&mut placement.base).into_raw();
    placement.cut_circle(&mut pixels, width as usize, rect);
    placement.base = RgbImage::from_raw(width, height, pixels).unwrap_or_default();
    placement
}

/// Lays `top` over `base` at (`left`, `top_y`) with per-pixel `alpha`.
fn blend(base: &mut RgbImage, top: &RgbImage, alpha: &GrayImage, left: i64, top_y: i64) {
    for (x, y, pixel) in top.enumerate_pixels() {
        let (bx, by) = (left + i64::from(x), top_y + i64::from(y));
        if bx < 0 || by < 0 || bx >= i64::from(base.width()) || by >= i64::from(base.height()) {
            continue;
        }
        let a = f32::from(alpha.get_pixel(x, y)[0]) / 255.0;
        let under = base.get_pixel_mut(bx as u32, by as u32);
        for c in 0..3 {
            under[c] = (f32::from(pixel[c]) * a + f32::from(under[c]) * (1.0 - a) + 0.5) as u8;
        }
    }
}

impl Placement {
    /// Restores the background outside the circle within `region` of the
    /// frame, with an antialiased edge.
    pub(crate) fn cut_circle(&self, frame: &mut [u8], width: usize, region: [usize; 4]) {
        let (Some((centre, radius)), Some(backdrop)) = (self.circle, &self.backdrop) else { return };
        for y in region[1]..region[3] {
            for x in region[0]..region[2] {
                let (dx, dy) = (x as f32 + 0.5 - centre[0], y as f32 + 0.5 - centre[1]);
                let inside = (radius - (dx * dx + dy * dy).sqrt() + 0.5).clamp(0.0, 1.0);
                if inside >= 1.0 {
                    continue;
                }
                let at = (y * width + x) * 3;
                for c in at..at + 3 {
                    frame[c] = (f32::from(frame[c]) * inside + f32::from(backdrop[c]) * (1.0 - inside) + 0.5) as u8;
                }
            }
        }
    }
}
