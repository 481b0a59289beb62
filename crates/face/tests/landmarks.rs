//! Landmarks on the bundled portrait against MediaPipe's own Python package.
//!
//! Reference produced with `mediapipe==0.10.21` (FaceMesh, static image mode,
//! no refinement) by `scripts/reference-landmarks.py assets/portraits/astronaut.png`.

use face::{FaceAnalyzer, FaceError, PhotoLimits, decode_photo};

const ASTRONAUT: &[u8] = include_bytes!("../../../assets/portraits/astronaut.png");

/// (landmark index, x, y) in pixels of the 512×512 photo.
const REFERENCE: [(usize, f32, f32); 19] = [
    (1, 224.10, 131.18),
    (4, 224.37, 126.95),
    (13, 223.55, 142.74),
    (14, 223.13, 149.60),
    (33, 194.65, 100.94),
    (61, 201.85, 139.45),
    (133, 213.82, 103.65),
    (152, 221.34, 175.49),
    (159, 202.84, 97.82),
    (145, 204.43, 104.17),
    (199, 221.89, 168.35),
    (263, 256.71, 104.08),
    (291, 245.91, 142.24),
    (362, 237.44, 104.77),
    (386, 248.90, 100.16),
    (374, 246.72, 106.20),
    (10, 227.50, 72.43),
    (234, 179.03, 111.05),
    (454, 270.86, 116.26),
];

#[test]
fn landmarks_match_mediapipe_within_three_percent_of_eye_distance() {
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode portrait");
    let rig = FaceAnalyzer::new().expect("models load").analyze(&photo).expect("face found");
    assert_eq!(rig.faces_found, 1);
    let reference_eye_distance = {
        let eye = |a: usize, b: usize| {
            let (pa, pb) = (REFERENCE.iter().find(|r| r.0 == a).unwrap(), REFERENCE.iter().find(|r| r.0 == b).unwrap());
            [(pa.1 + pb.1) / 2.0, (pa.2 + pb.2) / 2.0]
        };
        let (right, left) = (eye(33, 133), eye(263, 362));
        ((left[0] - right[0]).powi(2) + (left[1] - right[1]).powi(2)).sqrt()
    };
    let tolerance = 0.03 * reference_eye_distance;
    let mut worst = 0.0f32;
    for (index, x, y) in REFERENCE {
        let [px, py] = rig.landmarks()[index];
        let error = ((px - x).powi(2) + (py - y).powi(2)).sqrt();
        worst = worst.max(error);
        assert!(
            error < tolerance,
            "landmark {index}: ({px:.2}, {py:.2}) vs MediaPipe ({x}, {y}), off by {error:.2} px > {tolerance:.2}"
        );
    }
    eprintln!(
        "worst landmark error {worst:.2} px, tolerance {tolerance:.2} px (eye distance {reference_eye_distance:.1})"
    );
}

#[test]
fn a_face_is_followed_from_frame_to_frame() {
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode portrait");
    let analyzer = FaceAnalyzer::new().expect("models load");
    let found = analyzer.analyze(&photo).expect("face found");
    let unit = found.eye_distance();
    // The same face moved 12 px to the right: the crop made from the last
    // frame's landmarks still holds it, and the landmarks move with it.
    let moved =
        image::RgbImage::from_fn(photo.width(), photo.height(), |x, y| *photo.get_pixel(x.saturating_sub(12), y));
    let followed = analyzer.track(&moved, found.landmarks()).expect("face followed");
    let errors: Vec<f32> = found
        .landmarks()
        .iter()
        .zip(&followed)
        .map(|(a, b)| ((b[0] - a[0] - 12.0).powi(2) + (b[1] - a[1]).powi(2)).sqrt())
        .collect();
    let mean = errors.iter().sum::<f32>() / errors.len() as f32;
    // The crop differs from the detector's, so the points differ a little.
    assert!(mean < 0.02 * unit, "landmarks off by {mean:.2} px on average after following a 12 px move");
    // A frame without the face is reported, not followed into the void.
    let blank = image::RgbImage::from_pixel(photo.width(), photo.height(), image::Rgb([200, 180, 160]));
    let err = analyzer.track(&blank, found.landmarks()).unwrap_err();
    assert!(matches!(err, FaceError::NoFace), "{err}");
}

#[test]
fn blank_photo_has_no_face() {
    let photo = image::RgbImage::from_pixel(320, 240, image::Rgb([200, 180, 160]));
    let err = FaceAnalyzer::new().expect("models load").analyze(&photo).unwrap_err();
    assert!(matches!(err, FaceError::NoFace), "{err}");
}

#[test]
fn largest_of_several_faces_is_used() {
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode portrait");
    // Two copies of the head, one twice the size of the other.
    let head = image::imageops::crop_imm(&photo, 130, 20, 180, 200).to_image();
    let large = image::imageops::resize(&head, 360, 400, image::imageops::FilterType::Triangle);
    let mut group = image::RgbImage::from_pixel(640, 420, image::Rgb([128, 128, 128]));
    image::imageops::replace(&mut group, &head, 40, 110);
    image::imageops::replace(&mut group, &large, 270, 10);
    let rig = FaceAnalyzer::new().expect("models load").analyze(&group).expect("faces found");
    assert_eq!(rig.faces_found, 2, "both faces are reported");
    let nose = rig.landmarks()[1];
    assert!(nose[0] > 270.0, "the larger face (on the right) is the one rigged, nose at {nose:?}");
}

#[test]
fn small_face_in_a_large_picture_is_found() {
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode portrait");
    let mut wide = image::RgbImage::from_pixel(2400, 1600, image::Rgb([90, 110, 130]));
    image::imageops::replace(&mut wide, &photo, 1500, 900);
    let rig = FaceAnalyzer::new().expect("models load").analyze(&wide).expect("the small face is found");
    // The nose tip sits where it does in the portrait, shifted by the paste offset.
    let [x, y] = rig.landmarks()[1];
    assert!((x - (224.1 + 1500.0)).abs() < 3.0 && (y - (131.2 + 900.0)).abs() < 3.0, "nose at ({x}, {y})");
}

#[test]
fn segmentation_separates_the_person_from_the_background() {
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode portrait");
    let mask = face::Segmenter::new().expect("model loads").mask(&photo).expect("mask");
    assert_eq!(mask.dimensions(), photo.dimensions());
    // Face and suit are the person; the grey studio backdrop at the top corners is not.
    for (x, y) in [(224, 131), (230, 100), (200, 300), (250, 450)] {
        assert!(mask.get_pixel(x, y)[0] > 200, "person at ({x}, {y}): {}", mask.get_pixel(x, y)[0]);
    }
    for (x, y) in [(10, 10), (500, 10), (480, 100)] {
        assert!(mask.get_pixel(x, y)[0] < 50, "background at ({x}, {y}): {}", mask.get_pixel(x, y)[0]);
    }
}

#[test]
fn irises_are_where_mediapipe_sees_them() {
    // MediaPipe's refined face mesh (FaceMesh with refine_landmarks, the
    // attention model, mediapipe==0.10.21) puts the iris centres 468 and 473
    // of the portrait here; its iris model is not the one we run, so a
    // pixel and a half is allowed.
    const CENTRES: [[f32; 2]; 2] = [[203.48, 101.10], [246.59, 103.47]];
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode");
    let rig = FaceAnalyzer::new().expect("models").analyze(&photo).expect("face");
    assert_eq!(rig.irises.len(), 2, "both irises found");
    for (iris, expected) in rig.irises.iter().zip(CENTRES) {
        let off = (iris.centre[0] - expected[0]).hypot(iris.centre[1] - expected[1]);
        assert!(off < 1.5, "iris at {:?}, MediaPipe sees it at {expected:?}", iris.centre);
        // An iris is about 11.7 mm across, an eye's corners about 30 mm apart.
        let eye_width = (rig.vertices[133][0] - rig.vertices[33][0]).abs();
        assert!(
            (0.15..0.3).contains(&(iris.radius / eye_width)),
            "iris radius {} for an eye {eye_width} wide",
            iris.radius
        );
    }
}
