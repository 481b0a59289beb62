//! The avatar rig: everything later stages need to animate one photo,
//! computed once per avatar and stored as JSON.

use crate::iris::Iris;
use crate::mesh;
use serde::{Deserialize, Serialize};

/// The skirt: two rings of extra vertices around the face outline, as
/// multiples of the outline's distance from its centre, and how much of the
/// head's motion each follows. Mouth and eye motion stop at the outline;
/// head motion carries the hair and fades to nothing at the outer ring, so
/// the head moves without tearing the photo around it.
const SKIRT_RINGS: [(f32, f32); 2] = [(1.45, 1.0), (2.2, 0.0)];

/// How far behind the outline a skirt ring lies, per unit of its extra
/// distance from the centre: the rings sit on an ellipsoid that curves
/// back from the face outline, as hair, ears and neck do round a head.
const SKIRT_DEPTH: f32 = 0.6;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rig {
    /// Size of the analysed photo in pixels.
    pub width: u32,
    pub height: u32,
    /// Mesh vertices in photo pixels: the 468 landmarks, then the skirt ring.
    pub vertices: Vec<[f32; 2]>,
    /// Each vertex's depth in the same pixels, smaller nearer the camera
    /// (the landmark model's own depth; the skirt on an ellipsoid behind
    /// the outline). Empty in rigs stored before depth was kept: see
    /// [`Rig::depth`].
    #[serde(default)]
    pub depth: Vec<f32>,
    /// The irises, the subject's right eye first (MediaPipe's iris model);
    /// empty in rigs stored before irises were found, whose eyes then keep
    /// looking where the photo's do.
    #[serde(default)]
    pub irises: Vec<Iris>,
    /// Triangles over `vertices`: the canonical face mesh, then the skirt band.
    pub triangles: Vec<[u32; 3]>,
    /// Detector confidence of the chosen face.
    pub score: f32,
    /// Faces found in the photo; the largest one was used.
    pub faces_found: usize,
}

impl Rig {
    pub(crate) fn new(
        width: u32,
        height: u32,
        landmarks: Vec<[f32; 2]>,
        landmark_depth: Vec<f32>,
        score: f32,
        faces_found: usize,
    ) -> Self {
        let oval: Vec<[f32; 2]> = mesh::FACE_OVAL.iter().map(|&i| landmarks[i]).collect();
        let n = oval.len() as f32;
        let centre = oval.iter().fold([0.0, 0.0], |acc, p| [acc[0] + p[0] / n, acc[1] + p[1] / n]);
        let mut depth = landmark_depth;
        let mut vertices = landmarks;
        let mut triangles = mesh::triangles().to_vec();
        let ring = mesh::FACE_OVAL.len();
        let mut inner: Vec<u32> = mesh::FACE_OVAL.iter().map(|&i| i as u32).collect();
        for (scale, _) in SKIRT_RINGS {
            let start = vertices.len() as u32;
            vertices.extend(
                oval.iter().map(|p| [centre[0] + (p[0] - centre[0]) * scale, centre[1] + (p[1] - centre[1]) * scale]),
            );
            let ring_depth: Vec<f32> = mesh::FACE_OVAL
                .iter()
                .zip(&oval)
                .map(|(&i, p)| depth[i] + (scale - 1.0) * (p[0] - centre[0]).hypot(p[1] - centre[1]) * SKIRT_DEPTH)
                .collect();
            depth.extend(ring_depth);
            let outer: Vec<u32> = (0..ring as u32).map(|i| start + i).collect();
            for i in 0..ring {
                let j = (i + 1) % ring;
                triangles.push([inner[i], outer[i], outer[j]]);
                triangles.push([inner[i], outer[j], inner[j]]);
            }
            inner = outer;
        }
        Rig { width, height, vertices, depth, irises: Vec::new(), triangles, score, faces_found }
    }

    /// Each vertex's depth (see the field). A rig stored without depth gets
    /// one from an ellipsoid fitted to its face outline: a rounded face,
    /// nearest at the centre, as deep as it is wide.
    pub fn depth(&self) -> Vec<f32> {
        if self.depth.len() == self.vertices.len() {
            return self.depth.clone();
        }
        let oval: Vec<[f32; 2]> = mesh::FACE_OVAL.iter().map(|&i| self.vertices[i]).collect();
        let n = oval.len() as f32;
        let centre = oval.iter().fold([0.0, 0.0], |acc, p| [acc[0] + p[0] / n, acc[1] + p[1] / n]);
        let radius =
            oval.iter().map(|p| ((p[0] - centre[0]).powi(2) + (p[1] - centre[1]).powi(2)).sqrt()).sum::<f32>() / n;
        let radius = radius.max(1.0);
        self.vertices
            .iter()
            .map(|p| {
                let r = (((p[0] - centre[0]).powi(2) + (p[1] - centre[1]).powi(2)).sqrt() / radius).min(1.0);
                0.5 * radius * (1.0 - (1.0 - r * r).sqrt())
                    + ((p[0] - centre[0]).hypot(p[1] - centre[1]) - radius).max(0.0) * SKIRT_DEPTH
            })
            .collect()
    }

    /// The 468 face landmarks (without the skirt).
    pub fn landmarks(&self) -> &[[f32; 2]] {
        &self.vertices[..mesh::LANDMARKS]
    }

    /// Index of the first skirt vertex; mouth and eye motion stop before it.
    pub fn skirt_start(&self) -> usize {
        mesh::LANDMARKS
    }

    /// How much of the head's motion vertex `index` follows: all of it on
    /// the face, part on the inner skirt ring, none on the outer one.
    pub fn head_follow(&self, index: usize) -> f32 {
        if index < mesh::LANDMARKS {
            return 1.0;
        }
        let ring = (index - mesh::LANDMARKS) / mesh::FACE_OVAL.len();
        SKIRT_RINGS.get(ring).map_or(0.0, |r| r.1)
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
