//! What the face tests share: rendering a sentence to a real MP4, decoding
//! it as a viewer's player would, following the face through its frames
//! with the landmark model, and reading the head's pose from the points.

#![allow(dead_code)]

use face::FaceAnalyzer;
use image::RgbImage;
use pipeline::{OutputFiles, Studio, VideoSpec};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const ASTRONAUT: &[u8] = include_bytes!("../../../../assets/portraits/astronaut.png");
pub const CLOSED_MOUTH: &[u8] = include_bytes!("../../../../assets/portraits/astronaut-closed-mouth.png");

/// A tighter crop of the portrait, turned by 20 degrees about its centre.
pub fn cropped_and_turned(portrait: &RgbImage) -> RgbImage {
    let crop = image::imageops::crop_imm(portrait, 80, 0, 300, 330).to_image();
    let (w, h) = crop.dimensions();
    let (sin, cos) = 20f32.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let (sx, sy) = (cos * dx + sin * dy + cx, -sin * dx + cos * dy + cy);
        let (sx, sy) = (sx.clamp(0.0, w as f32 - 1.0) as u32, sy.clamp(0.0, h as f32 - 1.0) as u32);
        *crop.get_pixel(sx, sy)
    })
}

/// A decoded video: RGB frames and mono 16 kHz audio.
pub struct Decoded {
    pub frames: Vec<RgbImage>,
    pub samples: Vec<f32>,
}

/// Decodes a video's frames (RGB24, `width`×`height`) and its audio (mono 16 kHz).
pub fn decode(video: &Path, width: u32, height: u32) -> Decoded {
    let frames = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(video)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("decode video");
    let audio = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(video)
        .args(["-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"])
        .output()
        .expect("decode audio");
    let frames = frames
        .stdout
        .chunks_exact(width as usize * height as usize * 3)
        .map(|f| RgbImage::from_raw(width, height, f.to_vec()).expect("frame"))
        .collect();
    let samples = audio.stdout.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).collect();
    Decoded { frames, samples }
}

/// Renders `speech` on `photo` into an MP4 in `dir` as `spec` says; with
/// `MOUTHPIECE_ARTIFACTS` set, the MP4 is kept there as `name`.mp4 and its
/// words' timing as `name`.words.json.
pub fn render_video(name: &str, photo: &RgbImage, speech: &speech::Speech, spec: VideoSpec, dir: &Path) -> PathBuf {
    let studio = Studio::new().expect("models");
    let rig = studio.train(photo).expect("face in test photo");
    let (video, thumbnail) = (dir.join("v.mp4"), dir.join("v.jpg"));
    studio
        .render(photo, &rig, speech, spec, OutputFiles { video: &video, thumbnail: &thumbnail, gif: None }, &mut |_| {})
        .expect("render");
    if let Ok(artefacts) = std::env::var("MOUTHPIECE_ARTIFACTS") {
        std::fs::copy(&video, Path::new(&artefacts).join(format!("{name}.mp4"))).expect("keep the video");
        // The words' timing, for scripts/face-measures.sh --words.
        let words = serde_json::to_vec_pretty(&speech.words).expect("words as JSON");
        std::fs::write(Path::new(&artefacts).join(format!("{name}.words.json")), words).expect("keep the words");
    }
    video
}

/// [`render_video`], then the video decoded.
pub fn render_and_decode(
    name: &str,
    photo: &RgbImage,
    speech: &speech::Speech,
    spec: VideoSpec,
    dir: &Path,
) -> Decoded {
    let (width, height) = (spec.width, spec.height);
    let video = render_video(name, photo, speech, spec, dir);
    decode(&video, width, height)
}

/// MediaPipe's own reading of `video` (its Python package, the attention
/// face mesh with irises, through `scripts/face-measures.py`), with a
/// per-word table for `words`: the JSON the script writes.
pub fn mediapipe_measures(video: &Path, words: &[speech::TimedWord], dir: &Path) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = std::env::var_os("FACE_MEASURES_VENV").map_or_else(|| root.join("target/face-venv"), PathBuf::from);
    let (words_file, out) = (dir.join("words.json"), dir.join("measures.json"));
    std::fs::write(&words_file, serde_json::to_vec(words).expect("words as JSON")).expect("write words");
    let status = Command::new(venv.join("bin/python"))
        .arg(root.join("scripts/face-measures.py"))
        .arg(video)
        .arg("--words")
        .arg(&words_file)
        .arg("--json")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("MediaPipe's Python package (scripts/face-measures.sh --setup makes it)");
    assert!(status.success(), "scripts/face-measures.py failed on {}", video.display());
    serde_json::from_slice(&std::fs::read(&out).expect("measures")).expect("measures as JSON")
}

/// What the models see of the face in one frame.
pub struct Seen {
    /// The 468 landmarks: x, y, depth in pixels.
    pub points: Vec<[f32; 3]>,
    /// The irises, the subject's right eye first.
    pub irises: [face::Iris; 2],
}

/// The face in every frame, found as MediaPipe follows a face through a
/// video: detected in the first frame (and whenever it is lost), then each
/// frame's crop made from the previous frame's points; the irises by the
/// iris model on crops around the eyes. `None` for a frame the model
/// cannot read.
pub fn follow(frames: &[RgbImage]) -> Vec<Option<Seen>> {
    let analyzer = FaceAnalyzer::new().expect("models");
    let mut previous: Option<Vec<[f32; 2]>> = None;
    frames
        .iter()
        .map(|frame| {
            let start = match previous.take() {
                Some(points) => points,
                None => analyzer.analyze(frame).ok()?.landmarks().to_vec(),
            };
            let points = analyzer.track(frame, &start).ok()?;
            let flat: Vec<[f32; 2]> = points.iter().map(|p| [p[0], p[1]]).collect();
            let irises = analyzer.irises(frame, &flat).ok()?;
            previous = Some(flat);
            Some(Seen { points, irises })
        })
        .collect()
}

/// Least-squares coefficients that map each point's `inputs` (ending in a
/// 1 for the offset) to its 2-D `target`, one row per output coordinate:
/// x' = Σ row[0][k]·input[k], y' likewise.
pub fn fit(inputs: &[Vec<f64>], targets: &[[f64; 2]]) -> [Vec<f64>; 2] {
    let n = inputs[0].len();
    // Normal equations, solved by Gaussian elimination with partial pivoting.
    let mut m = vec![vec![0.0f64; n + 2]; n];
    for (basis, target) in inputs.iter().zip(targets) {
        for i in 0..n {
            for j in 0..n {
                m[i][j] += basis[i] * basis[j];
            }
            m[i][n] += basis[i] * target[0];
            m[i][n + 1] += basis[i] * target[1];
        }
    }
    for column in 0..n {
        let pivot = (column..n).max_by(|&a, &b| m[a][column].abs().total_cmp(&m[b][column].abs())).unwrap_or(column);
        m.swap(column, pivot);
        let pivot_row = m[column].clone();
        for (row, values) in m.iter_mut().enumerate() {
            if row != column {
                let factor = values[column] / pivot_row[column];
                for (value, pivot_value) in values.iter_mut().zip(&pivot_row).skip(column) {
                    *value -= factor * pivot_value;
                }
            }
        }
    }
    [0, 1].map(|out| (0..n).map(|i| m[i][n + out] / m[i][i]).collect())
}

/// Points of the face that no expression moves (forehead, nose bridge and
/// tip, cheekbones, the sides of the face by the ears, eye corners): the
/// head's pose is read from them.
pub const RIGID: [usize; 24] =
    [10, 151, 108, 337, 168, 6, 197, 195, 5, 4, 1, 234, 454, 127, 356, 93, 323, 116, 345, 33, 133, 263, 362, 226];

/// The head's yaw, pitch and roll in degrees in `points` relative to
/// `reference`: a weak-perspective camera (each picture coordinate an
/// affine function of the reference's x, y and depth) fitted to the rigid
/// points, its two rows made unit length and the rotation read from them.
pub fn head_pose(reference: &[[f32; 3]], points: &[[f32; 3]]) -> [f32; 3] {
    let inputs: Vec<Vec<f64>> =
        RIGID.iter().map(|&i| reference[i].iter().map(|&v| f64::from(v)).chain([1.0]).collect()).collect();
    let targets: Vec<[f64; 2]> = RIGID.iter().map(|&i| [f64::from(points[i][0]), f64::from(points[i][1])]).collect();
    let rows = fit(&inputs, &targets);
    let unit = |row: &[f64]| {
        let length = (row[0] * row[0] + row[1] * row[1] + row[2] * row[2]).sqrt();
        [row[0] / length, row[1] / length, row[2] / length]
    };
    let (r1, r2) = (unit(&rows[0]), unit(&rows[1]));
    let r3 = [r1[1] * r2[2] - r1[2] * r2[1], r1[2] * r2[0] - r1[0] * r2[2], r1[0] * r2[1] - r1[1] * r2[0]];
    let yaw = r1[2].clamp(-1.0, 1.0).asin();
    let pitch = (-r2[2]).atan2(r3[2]);
    let roll = r2[0].atan2(r1[0]);
    [yaw, pitch, roll].map(|a| a.to_degrees() as f32)
}

/// The spread of `values` from their 5th to their 95th percentile.
pub fn percentile_range(values: &[f32]) -> f32 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[sorted.len() * 95 / 100] - sorted[sorted.len() * 5 / 100]
}

pub fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// The outer-eye-corner distance (33–263), the unit of the face measures.
pub fn eye_corners(points: &[[f32; 3]]) -> f32 {
    distance(points[33], points[263]).max(1.0)
}

/// How far `point` lies below the line through the outer eye corners, in
/// pixels: a distance down the face that the head's roll does not change.
pub fn below_eye_line(points: &[[f32; 3]], point: [f32; 3]) -> f32 {
    let (a, b) = (points[33], points[263]);
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let length = (dx * dx + dy * dy).sqrt().max(1e-3);
    ((point[0] - a[0]) * -dy + (point[1] - a[1]) * dx) / length
}

pub fn pearson(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len()) as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma).powi(2);
        vb += (y - mb).powi(2);
    }
    cov / (va.sqrt() * vb.sqrt()).max(f32::EPSILON)
}
