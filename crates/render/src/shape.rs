//! Small numeric and pixel helpers the deformation and painting code share.

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

/// Linear mix of two colours: `a` at 0, `b` at 1.
pub(crate) fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

/// The colour of `image` at a point, if it lies in the image.
pub(crate) fn pixel_at(image: &image::RgbImage, [x, y]: Vec2) -> Option<[f32; 3]> {
    image.get_pixel_checked(x.max(0.0) as u32, y.max(0.0) as u32).map(|p| p.0.map(f32::from))
}

/// Paints `colour` over one RGB24 pixel with opacity `alpha` (0 to 1).
pub(crate) fn blend(pixel: &mut [u8], colour: [f32; 3], alpha: f32) {
    for (value, colour) in pixel.iter_mut().zip(colour) {
        *value = (f32::from(*value) * (1.0 - alpha) + colour * alpha + 0.5) as u8;
    }
}

/// The mean of some colours (black if there are none).
pub(crate) fn mean(colours: impl Iterator<Item = [f32; 3]>) -> [f32; 3] {
    let (sum, count) = colours.fold(([0.0f32; 3], 0.0f32), |(sum, n), p| ([0, 1, 2].map(|c| sum[c] + p[c]), n + 1.0));
    sum.map(|s| s / count.max(1.0))
}
