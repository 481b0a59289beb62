//! The ways face analysis can fail, each with a message a person can act on.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum FaceError {
    #[error("the file is not an image Mouthpiece can read (PNG, JPEG or WebP): {0}")]
    NotAnImage(String),
    #[error("the image is {width}×{height} pixels; it must be at least {min}×{min}")]
    TooSmall { width: u32, height: u32, min: u32 },
    #[error(
        "the image is {width}×{height} pixels ({pixels} in all); at most {max} pixels are accepted, so scale it down"
    )]
    TooLarge { width: u32, height: u32, pixels: u64, max: u64 },
    #[error("no face was found in the photo; use a photo with one face looking at the camera, well lit")]
    NoFace,
    #[error("face model failed: {0}")]
    Model(String),
}

impl FaceError {
    pub(crate) fn model(error: impl std::fmt::Display) -> Self {
        FaceError::Model(error.to_string())
    }
}
