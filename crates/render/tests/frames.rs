//! Rendering the bundled portrait: the mouth and eyes move, the rest of
//! the frame stays the background colour, and the rest pose is the photo.

use animate::FaceMotion;
use face::{FaceAnalyzer, PhotoLimits, decode_photo};
use render::{Canvas, Renderer};

const ASTRONAUT: &[u8] = include_bytes!("../../../assets/portraits/astronaut.png");
const BACKGROUND: [u8; 3] = [255, 255, 255];

fn renderer() -> (Renderer, image::RgbImage) {
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode");
    let rig = FaceAnalyzer::new().expect("models").analyze(&photo).expect("face");
    let canvas = Canvas { width: 720, height: 406, background: BACKGROUND };
    (Renderer::new(&photo, &rig, canvas, Default::default(), None, None), photo)
}

/// Mean absolute difference of two frames inside a rectangle.
fn difference(a: &image::RgbImage, b: &image::RgbImage, rect: [u32; 4]) -> f32 {
    let mut total = 0u64;
    for y in rect[1]..rect[3] {
        for x in rect[0]..rect[2] {
            for c in 0..3 {
                total += u64::from(a.get_pixel(x, y)[c].abs_diff(b.get_pixel(x, y)[c]));
            }
        }
    }
    total as f32 / ((rect[2] - rect[0]) * (rect[3] - rect[1]) * 3) as f32
}

fn bounds(points: &[[f32; 2]], indices: &[usize], pad: f32) -> [u32; 4] {
    let xs = indices.iter().map(|&i| points[i][0]);
    let ys = indices.iter().map(|&i| points[i][1]);
    let (x0, x1) = (xs.clone().fold(f32::MAX, f32::min), xs.fold(f32::MIN, f32::max));
    let (y0, y1) = (ys.clone().fold(f32::MAX, f32::min), ys.fold(f32::MIN, f32::max));
    [(x0 - pad) as u32, (y0 - pad) as u32, (x1 + pad) as u32, (y1 + pad) as u32]
}

#[test]
fn open_mouth_and_shut_eyes_change_only_their_regions() {
    let (renderer, _) = renderer();
    let rest = renderer.render(&FaceMotion::default());
    let open = renderer.render(&FaceMotion { jaw: 0.8, ..FaceMotion::default() });
    let blink = renderer.render(&FaceMotion { blink: [1.0, 1.0], ..FaceMotion::default() });
    let points = renderer.landmarks(&FaceMotion::default());
    let mouth = bounds(&points, &[61, 291, 13, 14, 17, 0], 2.0);
    let eye = bounds(&points, &face::mesh::EYES[0].upper, 1.0);
    let forehead = bounds(&points, &[10, 109, 338], 1.0);
    let mouth_change = difference(&rest, &open, mouth);
    let eye_change = difference(&rest, &blink, eye);
    assert!(mouth_change > 12.0, "mouth region changes when the jaw opens: {mouth_change}");
    assert!(eye_change > 8.0, "eye region changes when the eyes shut: {eye_change}");
    assert!(difference(&rest, &open, forehead) < 1.0, "forehead stays put while talking");
    // Everything outside the fitted photo is exactly the background.
    for frame in [&rest, &open, &blink] {
        for (x, y) in [(0, 0), (100, 200), (719, 405), (600, 10), (650, 400)] {
            assert_eq!(frame.get_pixel(x, y).0, BACKGROUND, "pixel ({x}, {y})");
        }
    }
    let dark = (mouth[0]..mouth[2])
        .flat_map(|x| (mouth[1]..mouth[3]).map(move |y| (x, y)))
        .filter(|&(x, y)| open.get_pixel(x, y).0.iter().all(|&c| c < 70))
        .count();
    assert!(dark > 20, "an open mouth shows a dark cavity ({dark} dark pixels)");
    if let Ok(dir) = std::env::var("MOUTHPIECE_ARTIFACTS") {
        for (name, frame) in [("rest", &rest), ("open", &open), ("blink", &blink)] {
            frame.save(format!("{dir}/frame-{name}.png")).expect("save artefact");
        }
    }
}

#[test]
fn rest_pose_reproduces_the_photo() {
    let (renderer, photo) = renderer();
    let rest = renderer.render(&FaceMotion::default());
    let fitted = image::imageops::resize(&photo, 406, 406, image::imageops::FilterType::CatmullRom);
    let crop = image::imageops::crop_imm(&rest, 157, 0, 406, 406).to_image();
    let change = difference(&fitted, &crop, [0, 0, 406, 406]);
    assert!(change < 0.25, "rest frame differs from the photo by {change} levels on average");
}

fn placed(layout: render::Layout, background: Option<&image::RgbImage>) -> Renderer {
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode");
    let rig = FaceAnalyzer::new().expect("models").analyze(&photo).expect("face");
    Renderer::new(&photo, &rig, Canvas { width: 640, height: 360, background: [0, 0, 255] }, layout, background, None)
}

fn face_width(renderer: &Renderer) -> f32 {
    let points = renderer.landmarks(&FaceMotion::default());
    (points[454][0] - points[234][0]).abs()
}

#[test]
fn circle_style_shows_the_background_outside_the_circle() {
    let renderer = placed(render::Layout { frame: render::PhotoFrame::Circle, ..Default::default() }, None);
    let frame = renderer.render(&FaceMotion { jaw: 0.5, roll: 0.05, ..FaceMotion::default() });
    // The circle is centred, 360 px across: its bounding square's corners are background.
    for (x, y) in [(141, 1), (498, 1), (141, 358), (498, 358), (5, 180), (635, 180)] {
        assert_eq!(frame.get_pixel(x, y).0, [0, 0, 255], "outside the circle at ({x}, {y})");
    }
    assert_ne!(frame.get_pixel(320, 180).0, [0, 0, 255], "the photo fills the circle");
    let full = placed(render::Layout::default(), None);
    assert!(face_width(&renderer) > 1.5 * face_width(&full), "the head square is shown larger than the whole photo");
}

#[test]
fn scale_offset_and_background_image_place_the_photo() {
    let base = placed(render::Layout::default(), None);
    let doubled = placed(render::Layout { scale: 2.0, ..Default::default() }, None);
    let ratio = face_width(&doubled) / face_width(&base);
    assert!((ratio - 2.0).abs() < 0.02, "scale 2 doubles the face: {ratio}");
    let shifted = placed(render::Layout { offset: [0.25, 0.0], ..Default::default() }, None);
    let dx = shifted.landmarks(&FaceMotion::default())[1][0] - base.landmarks(&FaceMotion::default())[1][0];
    assert!((dx - 160.0).abs() < 1.0, "offset x 0.25 moves the photo a quarter of 640 px: {dx}");
    let stripes =
        image::RgbImage::from_fn(
            100,
            50,
            |x, _| if x < 50 { image::Rgb([255, 0, 0]) } else { image::Rgb([0, 255, 0]) },
        );
    let over_image = placed(render::Layout::default(), Some(&stripes)).render(&FaceMotion::default());
    assert_eq!(over_image.get_pixel(10, 180).0, [255, 0, 0], "left of the photo: the image's left half");
    assert_eq!(over_image.get_pixel(630, 180).0, [0, 255, 0], "right of the photo: the image's right half");
}

#[test]
fn a_smile_lifts_the_mouth_corners() {
    let renderer = placed(render::Layout::default(), None);
    let rest = renderer.landmarks(&FaceMotion::default());
    let smiling = renderer.landmarks(&FaceMotion { smile: 1.0, ..FaceMotion::default() });
    for corner in [61, 291] {
        assert!(smiling[corner][1] < rest[corner][1] - 0.5, "corner {corner} rises");
    }
    assert!(smiling[291][0] - smiling[61][0] > rest[291][0] - rest[61][0], "the mouth widens");
    assert!((smiling[10][1] - rest[10][1]).abs() < 0.01, "the forehead does not move");
    // The cheeks (the apples below the outer eye corners) rise, the lower
    // lids above them only a touch.
    let unit = (rest[263][0] - rest[33][0]).hypot(rest[263][1] - rest[33][1]);
    let rise = |i: usize| (rest[i][1] - smiling[i][1]) / unit;
    for (cheek, lid) in [(205, 145), (425, 374)] {
        eprintln!("smile: cheek {cheek} rises {:.3}, lower lid {lid} {:.3} eye distances", rise(cheek), rise(lid));
        assert!(rise(cheek) > 0.015, "cheek {cheek} rises {:.3} eye distances", rise(cheek));
        assert!(rise(lid) < 0.6 * rise(cheek), "the lower lid {lid} rises {:.3}, less than the cheek", rise(lid));
    }
}

#[test]
fn head_motion_carries_the_hair_and_leaves_the_edges() {
    let (renderer, _) = renderer();
    let rest = renderer.render(&FaceMotion::default());
    let turned = renderer.render(&FaceMotion { roll: 0.06, shift: [0.05, 0.0], ..FaceMotion::default() });
    let points = renderer.landmarks(&FaceMotion::default());
    let eyes = (points[263][0] - points[33][0]).abs();
    // Hair above the forehead moves with the head.
    let [x, y] = points[10];
    let hair = [(x - 0.4 * eyes) as u32, (y - 0.6 * eyes) as u32, (x + 0.4 * eyes) as u32, (y - 0.25 * eyes) as u32];
    let moved = difference(&rest, &turned, hair);
    assert!(moved > 3.0, "hair follows the head: {moved}");
    // The photo's corners, far from the head, do not.
    for corner in [[160, 2, 200, 40], [520, 2, 560, 40], [160, 366, 200, 404], [520, 366, 560, 404]] {
        assert!(difference(&rest, &turned, corner) < 0.01, "corner {corner:?} stays still");
    }
}

#[test]
fn matting_replaces_the_photos_own_background() {
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode");
    let rig = FaceAnalyzer::new().expect("models").analyze(&photo).expect("face");
    let matte = face::Segmenter::new().expect("model").mask(&photo).expect("mask");
    let canvas = Canvas { width: 720, height: 406, background: [0, 0, 255] };
    let renderer = Renderer::new(&photo, &rig, canvas, render::Layout::default(), None, Some(&matte));
    let frame = renderer.render(&FaceMotion { jaw: 0.3, ..FaceMotion::default() });
    // The photo (406 px square at x 157) had a grey studio backdrop at its top corners: now blue.
    for (x, y) in [(165, 8), (550, 8)] {
        let p = frame.get_pixel(x, y).0;
        assert!(p[2] > 200 && p[0] < 40 && p[1] < 40, "background replaced at ({x}, {y}): {p:?}");
    }
    // The face is still the photo's.
    let face = frame.get_pixel(335, 90).0;
    assert!(face[0] > 150 && face[2] < 200, "the face stays: {face:?}");
}
