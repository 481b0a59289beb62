//! Mesh deformation as a sum of precomputed displacement fields, one per
//! motion parameter, so each frame costs a few multiply-adds per vertex;
//! then the head turns as a rigid body in 3-D.
//!
//! Fields are built in the face's own frame (x along the eye line, y down
//! the face, lengths in eye distances), so they work on tilted faces too.
//! Every vertex has a depth (the landmark model's), so the head can yaw,
//! pitch and roll about a pivot in the neck and be seen through a
//! perspective camera: the nose moves more than the ears and the far cheek
//! narrows. The jaw, too, turns about its hinge in front of the ears.

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

/// A vertex in the face's own frame: across the face, down it and away from
/// the camera, in frame pixels from the face centre.
type Vec3 = [f32; 3];

/// Focal length of the camera the photo is taken to have been shot with,
/// in eye distances: a portrait from about 60 cm.
const FOCAL: f32 = 10.0;

/// Where the jaw turns, relative to the outline's points in front of the
/// ears: a little further back than they are.
const HINGE_BEHIND: f32 = 0.1;

/// The share of the jaw's drop that is a slide rather than a turn: the
/// jaw's joint glides forward and down as the mouth opens wide, so the chin
/// drops more than a pure turn about the ear would take it.
const JAW_SLIDE: f32 = 0.4;

/// The head's pivot: the top of the spine, level with the chin and this far
/// behind the ears, in eye distances.
const PIVOT_BEHIND: f32 = 0.35;

/// How far the upper lid follows the gaze down (or up), as lid closure
/// per eye width of gaze: looking down lowers the lid a little.
const LID_FOLLOW: f32 = 2.0;

/// A frame's mesh: each vertex in frame pixels, and its depth (larger is
/// further from the camera) for drawing the nearer triangles last.
pub(crate) struct Posed {
    pub(crate) points: Vec<Vec2>,
    pub(crate) depth: Vec<f32>,
}

pub(crate) struct Bases {
    /// One eye distance in frame pixels.
    pub(crate) unit: f32,
    /// How far the lower lip travels at `jaw = 1`, in frame pixels.
    pub(crate) jaw_travel: f32,
    across: Vec2,
    down: Vec2,
    /// The face centre (between the eyes and the mouth), where the camera looks.
    centre: Vec2,
    /// Rest depth of each vertex relative to the face centre, frame pixels.
    depth: Vec<f32>,
    /// The head's pivot in the face frame.
    pivot: Vec3,
    jaw: Vec<Vec3>,
    width: Vec<Vec2>,
    round: Vec<Vec3>,
    /// The lower lip drawn up under the upper teeth (f, v).
    tuck: Vec<Vec3>,
    /// Shuts a mouth the photo shows open.
    close: Vec<Vec2>,
    smile: Vec<Vec2>,
    brows: Vec<Vec2>,
    blink: [Vec<Vec2>; 2],
    /// How much each vertex follows the head (0 on the skirt).
    head: Vec<f32>,
}

impl Bases {
    pub(crate) fn new(rest: &[Vec2], rest_depth: &[f32], skirt_start: usize, head: Vec<f32>) -> Bases {
        let centroid = |indices: &[usize]| {
            let n = indices.len() as f32;
            indices.iter().fold([0.0, 0.0], |acc, &i| [acc[0] + rest[i][0] / n, acc[1] + rest[i][1] / n])
        };
        let depth_of = |indices: &[usize]| indices.iter().map(|&i| rest_depth[i]).sum::<f32>() / indices.len() as f32;
        let [right_eye, left_eye] = EYES.map(|eye| centroid(&eye.upper));
        let eye_line = sub(left_eye, right_eye);
        let unit = dot(eye_line, eye_line).sqrt().max(1.0);
        let across = scaled(eye_line, 1.0 / unit);
        let down = [-across[1], across[0]];
        let mouth_centre = centroid(&[13, 14, 78, 308]);
        let centre_point = centroid(&[33, 263, 13, 14]);
        let centre_depth = depth_of(&[33, 263, 13, 14]);
        let depth: Vec<f32> = rest_depth.iter().map(|z| z - centre_depth).collect();
        let in_face = |p: Vec2| {
            let d = sub(p, centre_point);
            [dot(d, across), dot(d, down)]
        };
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
        let jaw_travel = 0.56 * unit;
        // The jaw's hinge: an axis across the face through the points of the
        // outline in front of the ears. Its angle at `jaw = 1` drops the lower lip by `jaw_travel`.
        let ears = [234, 454];
        let hinge = [in_face(centroid(&ears))[1], depth[ears[0]].max(depth[ears[1]]) + HINGE_BEHIND * unit];
        let lower_lip = [in_face(rest[14])[1], depth[14]];
        let jaw_angle = (1.0 - JAW_SLIDE) * jaw_travel / (hinge[1] - lower_lip[1]).max(0.3 * unit);
        let (jaw_sin, jaw_cos) = jaw_angle.sin_cos();

        let count = rest.len();
        let mut jaw = vec![[0.0; 3]; count];
        let mut width = vec![[0.0; 2]; count];
        let mut round = vec![[0.0; 3]; count];
        let mut tuck = vec![[0.0; 3]; count];
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
            // The lower face turns about the hinge: down and, the further
            // below the hinge, back; the upper lip lifts a little.
            let [_, face_y] = in_face(p);
            let (dy, dz) = (face_y - hinge[0], depth[i] - hinge[1]);
            let turned = [dy * jaw_cos - dz * jaw_sin - dy, dy * jaw_sin + dz * jaw_cos - dz];
            let [drop, back] = turned.map(|d| d * jaw_pull);
            let drop = drop + JAW_SLIDE * jaw_travel * jaw_pull;
            let lift = -0.12 * upper_lift * jaw_travel;
            jaw[i] = [down[0] * (drop + lift), down[1] * (drop + lift), back];
            // Lips spread or narrow around the mouth centre, fading over a mouth's width.
            let near_mouth = (-((x / (mouth_half * 1.6)).powi(2) + (y / (mouth_half * 1.1)).powi(2))).exp();
            width[i] = scaled(across, 0.3 * x * near_mouth * unit);
            // Rounding gathers the lips towards the middle, pushes them
            // forward and turns them out (more of the red shows).
            let part = if below > 0.0 { 1.0 } else { -1.0 };
            let lips_only = (-((x / (mouth_half * 1.3)).powi(2) + (below / 0.16).powi(2))).exp();
            // The gathering stays within the lips and the skin just above and
            // below them: the nose and chin keep their shape.
            let near_lips = (-((x / (mouth_half * 1.5)).powi(2) + (below / 0.2).powi(2))).exp();
            let gather = -1.05 * x * near_lips * unit;
            // Only the lips' outer edges turn out: the line where they meet
            // stays, so rounding never parts the lips by itself. Towards the
            // corners the lips part a little as they gather, so an open mouth
            // rounds into an O instead of pinching to a point.
            let towards_corner = (x / mouth_half).clamp(-1.0, 1.0).powi(2);
            let pout = part * lips_only * (0.045 * smoothstep(0.0, 0.06, beyond) + 0.05 * towards_corner) * unit;
            // Gathered corners come down (or up) to the height the lips meet
            // at where they arrive: a smiling mouth rounds into an O, not a V.
            let arrives = x * (1.0 - 1.05 * near_lips);
            let settle = (interpolate(&xs, &mid, arrives) - interpolate(&xs, &mid, x)) * near_lips * unit;
            round[i] = [
                gather * across[0] + (pout + settle) * down[0],
                gather * across[1] + (pout + settle) * down[1],
                -0.12 * lips_only * unit,
            ];
            // f, v: the lower lip rises and rolls in under the upper teeth.
            let lower_lip_zone = lower * (-((x / (mouth_half * 1.1)).powi(2) + ((below - 0.06) / 0.1).powi(2))).exp();
            tuck[i] = [
                -down[0] * 0.05 * lower_lip_zone * unit,
                -down[1] * 0.05 * lower_lip_zone * unit,
                0.06 * lower_lip_zone * unit,
            ];
        }
        let blink = [0, 1].map(|e| blink_field(rest, skirt_start, e, across, down, unit));
        let brows = brow_field(rest, skirt_start, across, down, unit);
        let chin = in_face(rest[CHIN])[1];
        let pivot = [0.0, chin, depth[ears[0]].max(depth[ears[1]]) + PIVOT_BEHIND * unit];
        let smile = smile_field(rest, skirt_start, &local, across, down, unit);
        Bases {
            unit,
            jaw_travel,
            across,
            down,
            centre: centre_point,
            depth,
            pivot,
            jaw,
            width,
            round,
            tuck,
            close,
            smile,
            brows,
            blink,
            head,
        }
    }

    /// Deformed vertex positions for one frame.
    pub(crate) fn apply(&self, rest: &[Vec2], motion: &FaceMotion) -> Vec<Vec2> {
        self.pose(rest, motion).points
    }

    /// Deformed vertex positions and depths for one frame: the expression
    /// fields first, then the head's rigid turn seen through the camera.
    pub(crate) fn pose(&self, rest: &[Vec2], motion: &FaceMotion) -> Posed {
        let flat = [
            (&self.close, motion.close),
            (&self.smile, motion.smile),
            (&self.width, motion.width),
            (&self.brows, motion.brows),
            (&self.blink[0], motion.blink[0] + LID_FOLLOW * motion.gaze[1]),
            (&self.blink[1], motion.blink[1] + LID_FOLLOW * motion.gaze[1]),
        ];
        let deep = [(&self.jaw, motion.jaw), (&self.round, motion.round), (&self.tuck, motion.tuck)];
        let turn = Turn::new(motion, 1.0);
        let focal = FOCAL * self.unit;
        let (points, depth) = rest
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let mut q = p;
                let mut z = self.depth[i];
                for (field, amount) in flat {
                    q[0] += field[i][0] * amount;
                    q[1] += field[i][1] * amount;
                }
                for (field, amount) in deep {
                    q[0] += field[i][0] * amount;
                    q[1] += field[i][1] * amount;
                    z += field[i][2] * amount;
                }
                let weight = self.head[i];
                if weight <= 0.0 {
                    return (q, z);
                }
                let partial;
                let turn = if weight < 1.0 {
                    partial = Turn::new(motion, weight);
                    &partial
                } else {
                    &turn
                };
                // Back from the picture to the face frame in 3-D (the camera
                // sees a point `z` further away that much smaller), turned
                // about the pivot, and through the camera again.
                let d = sub(q, self.centre);
                let seen = (focal + z) / focal;
                let point = [dot(d, self.across) * seen, dot(d, self.down) * seen, z];
                let relative = [0, 1, 2].map(|k| point[k] - self.pivot[k]);
                let moved = turn.rotate(relative);
                let [a, b, c] = [0, 1, 2].map(|k| moved[k] + self.pivot[k] + turn.shift[k] * self.unit);
                let through = focal / (focal + c).max(0.1 * focal);
                let (a, b) = (a * through, b * through);
                (
                    [
                        self.centre[0] + a * self.across[0] + b * self.down[0],
                        self.centre[1] + a * self.across[1] + b * self.down[1],
                    ],
                    c,
                )
            })
            .unzip();
        Posed { points, depth }
    }
}

/// The head's rigid motion in one frame, for vertices that follow it by `weight`.
struct Turn {
    /// Rows of the rotation: roll · pitch · yaw.
    matrix: [Vec3; 3],
    /// In eye distances, across and down the face.
    shift: Vec3,
}

impl Turn {
    fn new(motion: &FaceMotion, weight: f32) -> Turn {
        let (sy, cy) = (motion.yaw * weight).sin_cos();
        let (sp, cp) = (motion.pitch * weight).sin_cos();
        let (sr, cr) = (motion.roll * weight).sin_cos();
        // Yaw about the face's vertical axis, pitch (positive tips the face
        // down) about its horizontal one, roll in the picture's plane.
        let yaw = [[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]];
        let pitch = [[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]];
        let roll = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
        let matrix = multiply(&roll, &multiply(&pitch, &yaw));
        Turn { matrix, shift: [motion.shift[0] * weight, motion.shift[1] * weight, 0.0] }
    }

    fn rotate(&self, v: Vec3) -> Vec3 {
        self.matrix.map(|row| row[0] * v[0] + row[1] * v[1] + row[2] * v[2])
    }
}

fn multiply(a: &[Vec3; 3], b: &[Vec3; 3]) -> [Vec3; 3] {
    [0, 1, 2].map(|r| [0, 1, 2].map(|c| (0..3).map(|k| a[r][k] * b[k][c]).sum()))
}

/// Brows lifted: the brows and the forehead just above them rise, the skin
/// between brow and lid stretches, fading out over the forehead.
fn brow_field(rest: &[Vec2], skirt_start: usize, across: Vec2, down: Vec2, unit: f32) -> Vec<Vec2> {
    let mut field = vec![[0.0; 2]; rest.len()];
    for eye in EYES {
        let n = eye.upper.len() as f32;
        let centre = eye.upper.iter().fold([0.0, 0.0], |acc, &i| [acc[0] + rest[i][0] / n, acc[1] + rest[i][1] / n]);
        for (i, &p) in rest.iter().enumerate().take(skirt_start) {
            let d = sub(p, centre);
            let (x, y) = (dot(d, across) / unit, dot(d, down) / unit);
            // The brow sits about 0.3 eye distances above the eye's lid line.
            let above = -y;
            if above <= 0.0 || EYES.iter().any(|e| e.upper.contains(&i) || e.lower.contains(&i)) {
                continue;
            }
            let sideways = smoothstep(0.6, 0.3, x.abs());
            let lift = smoothstep(0.05, 0.25, above) * smoothstep(0.9, 0.4, above);
            let travel = 0.1 * sideways * lift;
            field[i][0] -= down[0] * travel * unit;
            field[i][1] -= down[1] * travel * unit;
        }
    }
    field
}

/// A smile: the mouth corners go up and out, pulling the skin around them
/// (fading over a third of an eye distance), and the cheeks above the
/// corners rise a little.
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
                // The cheek above and outside the corner bunches up: it
                // rises and pushes the lower lid up a touch.
                let apple = [corner[0] + side * 0.12, corner[1] - 0.45];
                let distance2 = (q[0] - apple[0]).powi(2) + (q[1] - apple[1]).powi(2);
                moved[1] -= 0.035 * (-distance2 / 0.28f32.powi(2)).exp();
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
