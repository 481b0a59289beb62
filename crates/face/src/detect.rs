//! Face detection with MediaPipe's BlazeFace short-range model: 896 anchors
//! on a 128×128 letterboxed input, decoded into boxes and six keypoints,
//! merged by weighted non-maximum suppression.

use crate::FaceError;
use crate::model::{self, Plan};
use image::RgbImage;

const MODEL: &[u8] = include_bytes!("../../../assets/models/face_detection_short_range.onnx");
const INPUT: usize = 128;
const MIN_SCORE: f32 = 0.5;
const NMS_IOU: f32 = 0.3;
/// The smallest tile searched for small faces.
const MIN_TILE: u32 = 256;

/// One face found in a photo, in photo pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Box centre, width and height.
    pub center: [f32; 2],
    pub size: [f32; 2],
    /// Right eye, left eye, nose tip, mouth centre, right ear, left ear
    /// (the subject's right, so the left one in the picture comes first).
    pub keypoints: [[f32; 2]; 6],
    pub score: f32,
}

impl Detection {
    fn shift(&mut self, dx: f32, dy: f32) {
        self.center = [self.center[0] + dx, self.center[1] + dy];
        for keypoint in &mut self.keypoints {
            *keypoint = [keypoint[0] + dx, keypoint[1] + dy];
        }
    }

    fn area(&self) -> f32 {
        self.size[0] * self.size[1]
    }

    fn iou(&self, other: &Detection) -> f32 {
        let overlap = |axis: usize| {
            let lo = (self.center[axis] - self.size[axis] / 2.0).max(other.center[axis] - other.size[axis] / 2.0);
            let hi = (self.center[axis] + self.size[axis] / 2.0).min(other.center[axis] + other.size[axis] / 2.0);
            (hi - lo).max(0.0)
        };
        let intersection = overlap(0) * overlap(1);
        intersection / (self.area() + other.area() - intersection).max(f32::EPSILON)
    }
}

pub(crate) struct Detector {
    plan: Plan,
    anchors: Vec<[f32; 2]>,
}

impl Detector {
    pub(crate) fn new() -> Result<Self, FaceError> {
        Ok(Self { plan: model::load(MODEL, INPUT)?, anchors: anchors() })
    }

    /// All faces above the score threshold, largest first. The model sees
    /// faces that fill a good part of its input, so when the whole photo
    /// shows none, overlapping tiles of a half, a quarter … of its long side
    /// (down to 256 pixels) are searched too: a small face in a large picture.
    pub(crate) fn detect(&self, photo: &RgbImage) -> Result<Vec<Detection>, FaceError> {
        let faces = self.detect_whole(photo)?;
        if !faces.is_empty() {
            return Ok(faces);
        }
        let (width, height) = photo.dimensions();
        let mut side = width.max(height) / 2;
        while side >= MIN_TILE {
            let tile = side.min(width).min(height);
            let stride = (tile / 2).max(1);
            let starts = |length: u32| {
                let last = length.saturating_sub(tile);
                let mut at: Vec<u32> = (0..=last).step_by(stride as usize).collect();
                if at.last() != Some(&last) {
                    at.push(last);
                }
                at
            };
            let mut found = Vec::new();
            for y in starts(height) {
                for x in starts(width) {
                    let crop = image::imageops::crop_imm(photo, x, y, tile, tile).to_image();
                    for mut face in self.detect_whole(&crop)? {
                        face.shift(x as f32, y as f32);
                        found.push(face);
                    }
                }
            }
            if !found.is_empty() {
                found.sort_by(|a, b| b.score.total_cmp(&a.score));
                let mut faces = weighted_nms(found);
                faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
                return Ok(faces);
            }
            side /= 2;
        }
        Ok(Vec::new())
    }

    fn detect_whole(&self, photo: &RgbImage) -> Result<Vec<Detection>, FaceError> {
        // Letterbox: the whole photo, aspect kept, centred in the square.
        let side = photo.width().max(photo.height()) as f32;
        let scale = side / INPUT as f32;
        let pad_x = (side - photo.width() as f32) / 2.0;
        let pad_y = (side - photo.height() as f32) / 2.0;
        let reduced;
        let (source, source_scale) = if scale > 2.0 {
            // Box-filter large photos first so the 128-pixel input is not aliased.
            let factor = scale / 2.0;
            let (w, h) = (
                (photo.width() as f32 / factor).round().max(1.0) as u32,
                (photo.height() as f32 / factor).round().max(1.0) as u32,
            );
            reduced = image::imageops::resize(photo, w, h, image::imageops::FilterType::Triangle);
            (&reduced, photo.width() as f32 / w as f32)
        } else {
            (photo, 1.0)
        };
        let pixels = model::sample_input(source, INPUT, 1.0 / 127.5, -1.0, |u, v| {
            ((u * scale - pad_x) / source_scale, (v * scale - pad_y) / source_scale)
        });
        let outputs = model::run(&self.plan, INPUT, pixels)?;
        let (boxes, scores) = (&outputs[0], &outputs[1]);
        let to_photo = |u: f32, v: f32| [u * side - pad_x, v * side - pad_y];
        let mut candidates: Vec<Detection> = self
            .anchors
            .iter()
            .enumerate()
            .filter_map(|(index, anchor)| {
                let score = sigmoid(scores[index].clamp(-100.0, 100.0));
                if score < MIN_SCORE {
                    return None;
                }
                let raw = &boxes[index * 16..index * 16 + 16];
                let at = |i: usize| to_photo(raw[i] / INPUT as f32 + anchor[0], raw[i + 1] / INPUT as f32 + anchor[1]);
                let mut keypoints = [[0.0; 2]; 6];
                for (k, keypoint) in keypoints.iter_mut().enumerate() {
                    *keypoint = at(4 + 2 * k);
                }
                Some(Detection {
                    center: at(0),
                    size: [raw[2] / INPUT as f32 * side, raw[3] / INPUT as f32 * side],
                    keypoints,
                    score,
                })
            })
            .collect();
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut faces = weighted_nms(candidates);
        faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
        Ok(faces)
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Anchor centres of the short-range model: a 16×16 grid with two anchors
/// per cell (stride 8), then an 8×8 grid with six (three stride-16 layers).
fn anchors() -> Vec<[f32; 2]> {
    let mut anchors = Vec::with_capacity(896);
    for (grid, per_cell) in [(16usize, 2usize), (8, 6)] {
        for y in 0..grid {
            for x in 0..grid {
                for _ in 0..per_cell {
                    anchors.push([(x as f32 + 0.5) / grid as f32, (y as f32 + 0.5) / grid as f32]);
                }
            }
        }
    }
    anchors
}

/// MediaPipe's "weighted" suppression: overlapping candidates are averaged,
/// weighted by score, which steadies the box and keypoints.
fn weighted_nms(mut candidates: Vec<Detection>) -> Vec<Detection> {
    let mut faces = Vec::new();
    while let Some(best) = candidates.first().cloned() {
        let (cluster, rest): (Vec<_>, Vec<_>) = candidates.into_iter().partition(|c| c.iou(&best) > NMS_IOU);
        candidates = rest;
        let total: f32 = cluster.iter().map(|c| c.score).sum();
        let mut merged = Detection { center: [0.0; 2], size: [0.0; 2], keypoints: [[0.0; 2]; 6], score: best.score };
        for c in &cluster {
            let w = c.score / total;
            for axis in 0..2 {
                merged.center[axis] += c.center[axis] * w;
                merged.size[axis] += c.size[axis] * w;
                for k in 0..6 {
                    merged.keypoints[k][axis] += c.keypoints[k][axis] * w;
                }
            }
        }
        faces.push(merged);
    }
    faces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_layout_matches_the_model() {
        let anchors = anchors();
        assert_eq!(anchors.len(), 896);
        assert_eq!(anchors[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(anchors[512], [0.5 / 8.0, 0.5 / 8.0]);
    }

    #[test]
    fn nms_merges_overlaps_and_keeps_separate_faces() {
        let face =
            |x: f32, score: f32| Detection { center: [x, 50.0], size: [20.0, 20.0], keypoints: [[x, 50.0]; 6], score };
        let merged = weighted_nms(vec![face(50.0, 0.9), face(52.0, 0.9), face(200.0, 0.8)]);
        assert_eq!(merged.len(), 2);
        assert!((merged[0].center[0] - 51.0).abs() < 1e-4);
    }
}
