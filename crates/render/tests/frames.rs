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
    (Renderer::new(&photo, &rig, canvas), photo)
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
    assert!(change < 0.5, "rest frame differs from the photo by {change} levels on average");
}
