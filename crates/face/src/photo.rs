//! Decoding a user's photo with limits checked before any pixel is decoded.

use crate::FaceError;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};
use std::io::Cursor;

/// Size limits for photos. The minimum keeps the face crop meaningful; the
/// maximum bounds memory (a 40-megapixel RGB image is 120 MB decoded).
#[derive(Debug, Clone, Copy)]
pub struct PhotoLimits {
    pub min_side: u32,
    pub max_pixels: u64,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        Self { min_side: 128, max_pixels: 40_000_000 }
    }
}

/// Decodes PNG, JPEG or WebP bytes to RGB, honouring the EXIF orientation
/// that phone cameras write instead of rotating pixels.
pub fn decode_photo(bytes: &[u8], limits: PhotoLimits) -> Result<RgbImage, FaceError> {
    let not_image = |e: image::ImageError| FaceError::NotAnImage(e.to_string());
    let reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| FaceError::NotAnImage(e.to_string()))?;
    if reader.format().is_none() {
        return Err(FaceError::NotAnImage("unrecognised file format".into()));
    }
    let mut decoder = reader.into_decoder().map_err(not_image)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(FaceError::TooLarge { width, height, pixels, max: limits.max_pixels });
    }
    if width.min(height) < limits.min_side {
        return Err(FaceError::TooSmall { width, height, min: limits.min_side });
    }
    let orientation = decoder.orientation().map_err(not_image)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(not_image)?;
    image.apply_orientation(orientation);
    Ok(image.to_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        RgbImage::new(width, height)
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .expect("encode png");
        bytes
    }

    #[test]
    fn rejects_text() {
        let err = decode_photo(b"hello, I am not a picture", PhotoLimits::default()).unwrap_err();
        assert!(matches!(err, FaceError::NotAnImage(_)), "{err}");
    }

    #[test]
    fn rejects_truncated_png() {
        let bytes = png(200, 200);
        let err = decode_photo(&bytes[..bytes.len() / 2], PhotoLimits::default()).unwrap_err();
        assert!(matches!(err, FaceError::NotAnImage(_)), "{err}");
    }

    #[test]
    fn rejects_small_and_large() {
        let small = decode_photo(&png(100, 300), PhotoLimits::default()).unwrap_err();
        assert!(matches!(small, FaceError::TooSmall { width: 100, height: 300, .. }), "{small}");
        let limits = PhotoLimits { min_side: 16, max_pixels: 10_000 };
        let large = decode_photo(&png(101, 100), limits).unwrap_err();
        assert!(matches!(large, FaceError::TooLarge { pixels: 10_100, .. }), "{large}");
        assert_eq!(decode_photo(&png(100, 100), limits).expect("fits").dimensions(), (100, 100));
    }
}
