//! MediaPipe's iris landmark model: where each eye's iris is and how large,
//! from a crop around the eye made as MediaPipe makes it (centred between the
//! eye's corners, turned along them, 2.3 times as wide as they are apart; the
//! subject's left eye mirrored, since the model was trained on right eyes).

use crate::FaceError;
use crate::model::{self, Plan};
use image::RgbImage;
use serde::{Deserialize, Serialize};

const MODEL: &[u8] = include_bytes!("../../../assets/models/iris_landmark.onnx");
const INPUT: usize = 64;
/// The crop's side, in multiples of the larger side of the corners' box.
const CROP_SCALE: f32 = 2.3;
/// The eye corners each crop is made from: the subject's right eye (on the
/// picture's left), then the left one, which is mirrored.
const CORNERS: [(usize, usize); 2] = [(33, 133), (362, 263)];

/// One iris in photo pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Iris {
    pub centre: [f32; 2],
    pub radius: f32,
}

pub(crate) struct IrisFinder {
    plan: Plan,
}

impl IrisFinder {
    pub(crate) fn new() -> Result<Self, FaceError> {
        Ok(Self { plan: model::load(MODEL, INPUT)? })
    }

    /// Both irises (the subject's right eye first) of the face whose 468
    /// `landmarks` are given.
    pub(crate) fn find(&self, photo: &RgbImage, landmarks: &[[f32; 2]]) -> Result<[Iris; 2], FaceError> {
        let find = |eye: usize| -> Result<Iris, FaceError> {
            let (first, second) = (landmarks[CORNERS[eye].0], landmarks[CORNERS[eye].1]);
            let centre = [(first[0] + second[0]) / 2.0, (first[1] + second[1]) / 2.0];
            let (dx, dy) = (second[0] - first[0], second[1] - first[1]);
            let side = (CROP_SCALE * dx.abs().max(dy.abs())).max(1.0);
            let (sin, cos) = dy.atan2(dx).sin_cos();
            let mirrored = eye == 1;
            let to_photo = |u: f32, v: f32| {
                let u = if mirrored { INPUT as f32 - u } else { u };
                let (a, b) = ((u / INPUT as f32 - 0.5) * side, (v / INPUT as f32 - 0.5) * side);
                [centre[0] + a * cos - b * sin, centre[1] + a * sin + b * cos]
            };
            let pixels = model::sample_input(photo, INPUT, 1.0 / 255.0, 0.0, |u, v| {
                let [x, y] = to_photo(u, v);
                (x, y)
            });
            let outputs = model::run(&self.plan, INPUT, pixels)?;
            // The iris output is the one with 5 points (the other has 71).
            let iris = outputs
                .iter()
                .find(|o| o.len() == 15)
                .ok_or_else(|| FaceError::Model("the iris model gave no iris".into()))?;
            let points: Vec<[f32; 2]> = iris.chunks_exact(3).map(|p| to_photo(p[0], p[1])).collect();
            let span = |a: usize, b: usize| (points[a][0] - points[b][0]).hypot(points[a][1] - points[b][1]);
            // Point 0 is the centre; 1 and 3, 2 and 4 are opposite edges.
            Ok(Iris { centre: points[0], radius: (span(1, 3) + span(2, 4)) / 4.0 })
        };
        Ok([find(0)?, find(1)?])
    }
}
