//! MediaPipe's 468-point face-landmark model on a rotated square crop
//! (region of interest) around the face.

use crate::FaceError;
use crate::detect::Detection;
use crate::model::{self, Plan};
use image::RgbImage;

const MODEL: &[u8] = include_bytes!("../../../assets/models/face_landmark.onnx");
const INPUT: usize = 192;
/// The face-presence score below which the crop is taken to hold no face.
const MIN_PRESENCE: f32 = 0.5;
/// MediaPipe enlarges the face box by this much so the whole head fits.
const ROI_SCALE: f32 = 1.5;

/// A rotated square in photo pixels: the crop fed to the landmark model.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roi {
    center: [f32; 2],
    side: f32,
    /// Radians; the crop's x axis points along the eye line.
    rotation: f32,
}

impl Roi {
    /// From a detection: the box, squared and enlarged, turned so the eyes
    /// (keypoints 0 and 1) lie level.
    pub(crate) fn from_detection(face: &Detection) -> Self {
        let [right_eye, left_eye] = [face.keypoints[0], face.keypoints[1]];
        Roi {
            center: face.center,
            side: face.size[0].max(face.size[1]) * ROI_SCALE,
            rotation: (left_eye[1] - right_eye[1]).atan2(left_eye[0] - right_eye[0]),
        }
    }

    /// From the landmarks of the previous frame of a video, as MediaPipe's
    /// video mode tracks a face: the box around them, enlarged, turned so
    /// the outer eye corners (33, 263) lie level.
    pub(crate) fn from_landmarks(points: &[[f32; 2]]) -> Self {
        let (right_eye, left_eye) = (points[33], points[263]);
        let rotation = (left_eye[1] - right_eye[1]).atan2(left_eye[0] - right_eye[0]);
        let (sin, cos) = rotation.sin_cos();
        // The box is taken in the crop's own, turned axes.
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for p in points {
            let local = [p[0] * cos + p[1] * sin, -p[0] * sin + p[1] * cos];
            for axis in 0..2 {
                lo[axis] = lo[axis].min(local[axis]);
                hi[axis] = hi[axis].max(local[axis]);
            }
        }
        let middle = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        Roi {
            center: [middle[0] * cos - middle[1] * sin, middle[0] * sin + middle[1] * cos],
            side: (hi[0] - lo[0]).max(hi[1] - lo[1]) * ROI_SCALE,
            rotation,
        }
    }

    /// Maps a point of the model's input (pixels of the 192² crop) to the photo.
    fn to_photo(self, u: f32, v: f32) -> [f32; 2] {
        let (a, b) = ((u / INPUT as f32 - 0.5) * self.side, (v / INPUT as f32 - 0.5) * self.side);
        let (sin, cos) = self.rotation.sin_cos();
        [self.center[0] + a * cos - b * sin, self.center[1] + a * sin + b * cos]
    }
}

pub(crate) struct Landmarks {
    pub(crate) points: Vec<[f32; 2]>,
    /// Each point's depth relative to the face (smaller is nearer the
    /// camera), in the same photo pixels as the points.
    pub(crate) depth: Vec<f32>,
}

pub(crate) struct Landmarker {
    plan: Plan,
}

impl Landmarker {
    pub(crate) fn new() -> Result<Self, FaceError> {
        Ok(Self { plan: model::load(MODEL, INPUT)? })
    }

    /// The landmarks in `roi`, or `NoFace` if the model finds no face there.
    pub(crate) fn landmarks(&self, photo: &RgbImage, roi: &Roi) -> Result<Landmarks, FaceError> {
        let pixels = model::sample_input(photo, INPUT, 1.0 / 255.0, 0.0, |u, v| {
            let [x, y] = roi.to_photo(u, v);
            (x, y)
        });
        let outputs = model::run(&self.plan, INPUT, pixels)?;
        let points = outputs[0].chunks_exact(3).map(|xyz| roi.to_photo(xyz[0], xyz[1])).collect::<Vec<_>>();
        let depth = outputs[0].chunks_exact(3).map(|xyz| xyz[2] / INPUT as f32 * roi.side).collect();
        if points.len() != crate::mesh::LANDMARKS {
            return Err(FaceError::Model(format!("landmark model gave {} points", points.len())));
        }
        let presence = 1.0 / (1.0 + (-outputs[1][0]).exp());
        if presence < MIN_PRESENCE {
            return Err(FaceError::NoFace);
        }
        Ok(Landmarks { points, depth })
    }
}
