//! Face analysis: from a portrait photo to an avatar [`Rig`].
//!
//! This is the "training" stage of Mouthpiece. It decodes the photo with
//! sane limits, finds faces with MediaPipe's BlazeFace short-range detector,
//! places 468 landmarks with MediaPipe's face-landmark model on a crop turned
//! upright by the detected eyes (one pass, as MediaPipe's own static-image
//! mode does, which keeps us within a pixel of its output), and builds the
//! triangle mesh the renderer warps. Both models run in-process through
//! `tract-onnx`; the ONNX files are embedded in the binary.
//!
//! Everything here is pure: bytes or pixels in, data out.

mod detect;
mod error;
mod iris;
mod landmarks;
pub mod mesh;
mod model;
mod photo;
mod rig;
mod segment;

pub use detect::Detection;
pub use error::FaceError;
pub use iris::Iris;
pub use photo::{PhotoLimits, decode_photo};
pub use rig::Rig;
pub use segment::Segmenter;

use image::RgbImage;

/// Loaded face models, ready to analyse photos. Cheap to share between
/// threads (the models are immutable once optimised).
pub struct FaceAnalyzer {
    detector: detect::Detector,
    landmarker: landmarks::Landmarker,
    irises: iris::IrisFinder,
}

impl FaceAnalyzer {
    /// Loads and optimises the embedded models (a few hundred milliseconds).
    pub fn new() -> Result<Self, FaceError> {
        Ok(Self {
            detector: detect::Detector::new()?,
            landmarker: landmarks::Landmarker::new()?,
            irises: iris::IrisFinder::new()?,
        })
    }

    /// Finds every face in the photo, largest first.
    pub fn detect(&self, photo: &RgbImage) -> Result<Vec<Detection>, FaceError> {
        self.detector.detect(photo)
    }

    /// Analyses a decoded photo: the largest face becomes the rig.
    pub fn analyze(&self, photo: &RgbImage) -> Result<Rig, FaceError> {
        let faces = self.detect(photo)?;
        let largest = faces.first().ok_or(FaceError::NoFace)?;
        let refined = self.landmarker.landmarks(photo, &landmarks::Roi::from_detection(largest))?;
        let irises = self.irises.find(photo, &refined.points)?;
        let mut rig =
            Rig::new(photo.width(), photo.height(), refined.points, refined.depth, largest.score, faces.len());
        rig.irises = irises.to_vec();
        Ok(rig)
    }

    /// Both irises (the subject's right eye first) of the face whose 468
    /// `landmarks` (from [`FaceAnalyzer::track`] or a rig) are given.
    pub fn irises(&self, photo: &RgbImage, landmarks: &[[f32; 2]]) -> Result<[Iris; 2], FaceError> {
        if landmarks.len() < mesh::LANDMARKS {
            return Err(FaceError::Model(format!("{} landmarks; a face has {}", landmarks.len(), mesh::LANDMARKS)));
        }
        self.irises.find(photo, landmarks)
    }

    /// The 468 landmarks of the same face in the next frame of a video, as
    /// (x, y, depth) in frame pixels (smaller depth is nearer the camera):
    /// the crop follows `previous`, the last frame's landmarks (MediaPipe's
    /// tracking), so it does not jitter with the detector's box.
    pub fn track(&self, frame: &RgbImage, previous: &[[f32; 2]]) -> Result<Vec<[f32; 3]>, FaceError> {
        if previous.len() != mesh::LANDMARKS {
            return Err(FaceError::Model(format!(
                "{} previous landmarks; a face has {}",
                previous.len(),
                mesh::LANDMARKS
            )));
        }
        let roi = landmarks::Roi::from_landmarks(previous);
        let refined = self.landmarker.landmarks(frame, &roi)?;
        Ok(refined.points.iter().zip(&refined.depth).map(|(&[x, y], &z)| [x, y, z]).collect())
    }
}
