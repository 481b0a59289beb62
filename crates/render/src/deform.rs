//! Mesh deformation as a sum of precomputed displacement fields, one per
//! motion parameter, so each frame costs a few multiply-adds per vertex.
//!
//! Fields are built in the face's own frame (x along the eye line, y down
//! the face, lengths in eye distances), so they work on tilted faces too.

use crate::shape::smoothstep;
use animate::FaceMotion;
use face::mesh::{CHIN, EYES, LOWER_INNER_LIP, UPPER_INNER_LIP};

use crate::shape::Vec2;

fn sub(a: Vec2, b: Vec2) -> Vec2 {
    [a[0] - b[0], a[1] - b[1]]
}

fn dot(a: Vec2, b: Vec2) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

fn scaled(v: Vec2, s: f32) -> Vec2 {
    [v[0] * s, v[1] * s]
}

/// Linear interpolation of `values` at `x` over increasing `xs`, clamped at the ends.
fn interpolate(xs: &[f32], values: &[f32], x: f32) -> f32 {
    if x <= xs[0] {
        return values[0];
    }
    for i in 1..xs.len() {
        if x <= xs[i] {
            let t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]).max(f32::EPSILON);
            return values[i - 1] + t * (values[i] - values[i - 1]);
        }
    }
    values[values.len() - 1]
}

pub(crate) struct Bases {
    /// One eye distance in frame pixels.
    pub(crate) unit: f32,
    /// How far the lower lip travels at `jaw = 1`, in frame pixels.
    pub(crate) jaw_travel: f32,
    across: Vec2,
    down: Vec2,
    pivot: Vec2,
    jaw: Vec<Vec2>,
    width: Vec<Vec2>,
    round: Vec<Vec2>,
    /// Shuts a mouth the photo shows open.
    close: Vec<Vec2>,
    smile: Vec<Vec2>,
    blink: [Vec<Vec2>; 2],
    /// How much each vertex follows the head (0 on the skirt).
    head: Vec<f32>,
}

impl Bases {
    pub(crate) fn new(rest: &[Vec2], skirt_start: usize, head: Vec<f32>) -> Bases {
        let centroid = |indices: &[usize]| {
            let n = indices.len() as f32;
            indices.iter().fold([0.0, 0.0], |acc, &i| [acc[0] + rest[i][0] / n, acc[1] + rest[i][1] / n])
        };
        let [right_eye, left_eye] = EYES.map(|eye| centroid(&eye.upper));
        let eye_line = sub(left_eye, right_eye);
        let unit = dot(eye_line, eye_line).sqrt().max(1.0);
        let across = scaled(eye_line, 1.0 / unit);
        let down = [-across[1], across[0]];
        let mouth_centre = centroid(&[13, 14, 78, 308]);
        let local = |p: Vec2| {
            let d = sub(p, mouth_centre);
            [dot(d, across) / unit, dot(d, down) / unit]
        };
        // The parting line between the lips, as a function of x in face units.
        let lips: Vec<(f32, f32, f32)> = UPPER_INNER_LIP
            .iter()
            .zip(LOWER_INNER_LIP.iter())
            .map(|(&u, &l)| {
                let (pu, pl) = (local(rest[u]), local(rest[l]));
                ((pu[0] + pl[0]) / 2.0, (pu[1] + pl[1]) / 2.0, ((pl[1] - pu[1]) / 2.0).max(0.0))
            })
            .collect();
        let xs: Vec<f32> = lips.iter().map(|l| l.0).collect();
        let mid: Vec<f32> = lips.iter().map(|l| l.1).collect();
        // Half the gap between the lips in the photo: an open mouth is closed
        // first, so speech always starts from lips that meet.
        let half_gap: Vec<f32> = lips.iter().map(|l| l.2).collect();
        let mouth_half = (xs[xs.len() - 1] - xs[0]).abs() / 2.0;
        let jaw_travel = 0.36 * unit;

        let count = rest.len();
        let mut jaw = vec![[0.0; 2]; count];
        let mut width = vec![[0.0; 2]; count];
        let mut round = vec![[0.0; 2]; count];
        let mut close = vec![[0.0; 2]; count];
        for (i, &p) in rest.iter().enumerate().take(skirt_start) {
            let [x, y] = local(p);
            let below = y - interpolate(&xs, &mid, x);
            // Closing: the upper lip comes down a little, the jaw brings the
            // lower lip up the rest of the way; the pull fades through the
            // lips into the face.
            let gap = interpolate(&xs, &half_gap, x);
            let beyond = below.abs() - gap;
            close[i] = if below < 0.0 {
                scaled(down, 0.8 * gap * smoothstep(0.12, 0.0, beyond) * unit)
            } else {
                scaled(down, -1.2 * gap * smoothstep(0.35, 0.0, beyond) * unit)
            };
            let lower = smoothstep(-0.015, 0.015, below);
            // The jaw carries the chin and lower face; its pull fades towards the ears.
            let sideways = smoothstep(0.95, 0.35, x.abs());
            let upper_lift =
                (1.0 - lower) * (-(below / 0.12).powi(2)).exp() * smoothstep(mouth_half * 1.4, 0.0, x.abs());
            // Near the lips the opening is an oval: fullest at the centre,
            // less towards the corners; further down the chin moves as one.
            let taper = 1.0 - 0.55 * (x / mouth_half).clamp(-1.0, 1.0).powi(2);
            let lip_zone = smoothstep(0.25, 0.05, below);
            let jaw_pull = lower * sideways * (1.0 - lip_zone + lip_zone * taper);
            jaw[i] = scaled(down, jaw_travel * (jaw_pull - 0.12 * upper_lift));
            // Lips spread or narrow around the mouth centre, fading over a mouth's width.
            let near_mouth = (-((x / (mouth_half * 1.6)).powi(2) + (y / (mouth_half * 1.1)).powi(2))).exp();
            width[i] = scaled(across, 0.3 * x * near_mouth * unit);
            // Rounding narrows the lips and pushes them apart a little.
            let part = if below > 0.0 { 1.0 } else { -1.0 };
            round[i] = [
                -0.3 * x * near_mouth * unit * across[0] + part * 0.03 * near_mouth * unit * down[0],
                -0.3 * x * near_mouth * unit * across[1] + part * 0.03 * near_mouth * unit * down[1],
            ];
        }
        let blink = [0, 1].map(|e| blink_field(rest, skirt_start, e, across, down, unit));
        let pivot = [rest[CHIN][0] + down[0] * 0.4 * unit, rest[CHIN][1] + down[1] * 0.4 * unit];
        let smile = smile_field(rest, skirt_start, &local, across, down, unit);
        Bases { unit, jaw_travel, across, down, pivot, jaw, width, round, close, smile, blink, head }
    }

    /// Deformed vertex positions for one frame.
    pub(crate) fn apply(&self, rest: &[Vec2], motion: &FaceMotion) -> Vec<Vec2> {
        let (sin, cos) = motion.roll.sin_cos();
        let shift = [
            (motion.shift[0] * self.across[0] + motion.shift[1] * self.down[0]) * self.unit,
            (motion.shift[0] * self.across[1] + motion.shift[1] * self.down[1]) * self.unit,
        ];
        rest.iter()
            .enumerate()
            .map(|(i, &p)| {
                let mut q = p;
                for (field, amount) in [
                    (&self.close, motion.close),
                    (&self.smile, motion.smile),
                    (&self.jaw, motion.jaw),
                    (&self.width, motion.width),
                    (&self.round, motion.round),
                    (&self.blink[0], motion.blink[0]),
                    (&self.blink[1], motion.blink[1]),
                ] {
                    q[0] += field[i][0] * amount;
                    q[1] += field[i][1] * amount;
                }
                let weight = self.head[i];
                if weight > 0.0 {
                    let d = sub(q, self.pivot);
                    // A nod moves features down in proportion to their height above the neck.
                    let height = -dot(d, self.down) / self.unit;
                    let nod = scaled(self.down, motion.nod * height * self.unit * 0.5);
                    let (sin, cos) = if weight < 1.0 { (motion.roll * weight).sin_cos() } else { (sin, cos) };
                    let turned = [d[0] * cos - d[1] * sin, d[0] * sin + d[1] * cos];
                    q = [
                        self.pivot[0] + turned[0] + (shift[0] + nod[0]) * weight,
                        self.pivot[1] + turned[1] + (shift[1] + nod[1]) * weight,
                    ];
                }
                q
            })
            .collect()
    }
}

/// A smile: the mouth corners go up and out, pulling the skin around them
/// (cheeks rise a little); fades over a quarter of an eye distance.
fn smile_field(
    rest: &[Vec2],
    skirt_start: usize,
    local: &dyn Fn(Vec2) -> Vec2,
    across: Vec2,
    down: Vec2,
    unit: f32,
) -> Vec<Vec2> {
    let corners = [local(rest[61]), local(rest[291])];
    rest.iter()
        .enumerate()
        .map(|(i, &p)| {
            if i >= skirt_start {
                return [0.0; 2];
            }
            let q = local(p);
            let mut moved = [0.0f32; 2];
            for (side, corner) in [-1.0f32, 1.0].into_iter().zip(corners) {
                let distance2 = (q[0] - corner[0]).powi(2) + (q[1] - corner[1]).powi(2);
                let pull = (-distance2 / 0.3f32.powi(2)).exp();
                moved[0] += side * 0.05 * pull;
                moved[1] -= 0.07 * pull;
            }
            [(moved[0] * across[0] + moved[1] * down[0]) * unit, (moved[0] * across[1] + moved[1] * down[1]) * unit]
        })
        .collect()
}

/// The displacement that shuts one eye: the upper lid comes down to the
/// lower one, the skin above follows less and less, the lower lid rises a bit.
fn blink_field(rest: &[Vec2], skirt_start: usize, eye: usize, across: Vec2, down: Vec2, unit: f32) -> Vec<Vec2> {
    let lids = EYES[eye];
    let centre = {
        let n = lids.upper.len() as f32;
        lids.upper
            .iter()
            .chain(lids.lower.iter())
            .fold([0.0, 0.0], |acc, &i| [acc[0] + rest[i][0] / (2.0 * n), acc[1] + rest[i][1] / (2.0 * n)])
    };
    let local = |p: Vec2| {
        let d = sub(p, centre);
        [dot(d, across) / unit, dot(d, down) / unit]
    };
    let mut points: Vec<(f32, f32, f32)> = lids
        .upper
        .iter()
        .zip(lids.lower.iter())
        .map(|(&u, &l)| {
            let (pu, pl) = (local(rest[u]), local(rest[l]));
            (pu[0], pu[1], (pl[1] - pu[1]).max(0.0))
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let xs: Vec<f32> = points.iter().map(|p| p.0).collect();
    let lid: Vec<f32> = points.iter().map(|p| p.1).collect();
    let gap: Vec<f32> = points.iter().map(|p| p.2).collect();
    let half_width = (xs[xs.len() - 1] - xs[0]) / 2.0;
    let mut field = vec![[0.0; 2]; rest.len()];
    for (i, &p) in rest.iter().enumerate().take(skirt_start) {
        let [x, y] = local(p);
        if x.abs() > half_width * 1.15 {
            continue;
        }
        let opening = interpolate(&xs, &gap, x);
        let above = interpolate(&xs, &lid, x) - y;
        let travel = if lids.upper.contains(&i) {
            1.02 * opening
        } else if lids.lower.contains(&i) {
            -0.08 * opening
        } else if above > 0.0 {
            // Skin between lid and brow follows the lid, less with distance.
            opening * 0.3 * smoothstep(half_width * 0.9, 0.0, above)
        } else {
            0.0
        };
        field[i] = scaled(down, travel * unit);
    }
    field
}
