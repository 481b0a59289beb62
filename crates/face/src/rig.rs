//! The avatar rig: everything later stages need to animate one photo,
//! computed once per avatar and stored as JSON.

use crate::mesh;
use serde::{Deserialize, Serialize};

/// How far out the skirt ring sits, as a multiple of the face outline's
/// distance from its centre. Deformations fade to zero across the band
/// between outline and skirt, so the face moves without tearing the photo.
const SKIRT_SCALE: f32 = 1.45;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rig {
    /// Size of the analysed photo in pixels.
    pub width: u32,
    pub height: u32,
    /// Mesh vertices in photo pixels: the 468 landmarks, then the skirt ring.
    pub vertices: Vec<[f32; 2]>,
    /// Triangles over `vertices`: the canonical face mesh, then the skirt band.
    pub triangles: Vec<[u32; 3]>,
    /// Detector confidence of the chosen face.
    pub score: f32,
    /// Faces found in the photo; the largest one was used.
    pub faces_found: usize,
}

impl Rig {
    pub(crate) fn new(width: u32, height: u32, landmarks: Vec<[f32; 2]>, score: f32, faces_found: usize) -> Self {
        let oval: Vec<[f32; 2]> = mesh::FACE_OVAL.iter().map(|&i| landmarks[i]).collect();
        let n = oval.len() as f32;
        let centre = oval.iter().fold([0.0, 0.0], |acc, p| [acc[0] + p[0] / n, acc[1] + p[1] / n]);
        let mut vertices = landmarks;
        let skirt_start = vertices.len() as u32;
        vertices.extend(
            oval.iter()
                .map(|p| [centre[0] + (p[0] - centre[0]) * SKIRT_SCALE, centre[1] + (p[1] - centre[1]) * SKIRT_SCALE]),
        );
        let mut triangles = mesh::triangles().to_vec();
        let ring = mesh::FACE_OVAL.len();
        for i in 0..ring {
            let j = (i + 1) % ring;
            let (inner_i, inner_j) = (mesh::FACE_OVAL[i] as u32, mesh::FACE_OVAL[j] as u32);
            let (outer_i, outer_j) = (skirt_start + i as u32, skirt_start + j as u32);
            triangles.push([inner_i, outer_i, outer_j]);
            triangles.push([inner_i, outer_j, inner_j]);
        }
        Rig { width, height, vertices, triangles, score, faces_found }
    }

    /// The 468 face landmarks (without the skirt).
    pub fn landmarks(&self) -> &[[f32; 2]] {
        &self.vertices[..mesh::LANDMARKS]
    }

    /// Index of the first skirt vertex; skirt vertices never move.
    pub fn skirt_start(&self) -> usize {
        mesh::LANDMARKS
    }

    /// Distance between the two eye centres, the face's natural unit length.
    pub fn eye_distance(&self) -> f32 {
        let [right, left] = mesh::EYES.map(|eye| self.centroid(&eye.upper));
        ((left[0] - right[0]).powi(2) + (left[1] - right[1]).powi(2)).sqrt()
    }

    /// Mean position of some landmarks.
    pub fn centroid(&self, indices: &[usize]) -> [f32; 2] {
        let n = indices.len() as f32;
        indices.iter().fold([0.0, 0.0], |acc, &i| [acc[0] + self.vertices[i][0] / n, acc[1] + self.vertices[i][1] / n])
    }
}
