//! Small numeric helpers the deformation and painting code share.

pub(crate) type Vec2 = [f32; 2];

/// Hermite step from 0 at `edge0` to 1 at `edge1` (either order).
pub(crate) fn smoothstep(edge0: f32, edge1: f32, x: f32) -> f32 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// y of a polyline (points sorted by x) at `x`; None outside it.
pub(crate) fn y_at(line: &[Vec2], x: f32) -> Option<f32> {
    line.windows(2).find(|w| x >= w[0][0] && x <= w[1][0]).map(|w| {
        let t = (x - w[0][0]) / (w[1][0] - w[0][0]).max(f32::EPSILON);
        w[0][1] + t * (w[1][1] - w[0][1])
    })
}

/// The points sorted from left to right, as `y_at` wants them.
pub(crate) fn sorted_by_x(points: impl Iterator<Item = Vec2>) -> Vec<Vec2> {
    let mut line: Vec<Vec2> = points.collect();
    line.sort_by(|a, b| a[0].total_cmp(&b[0]));
    line
}

/// Brightness of an RGB colour (Rec. 601 weights).
pub(crate) fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}
