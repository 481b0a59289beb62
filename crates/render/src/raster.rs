//! The triangle rasteriser: fills each deformed triangle by sampling the
//! base frame at the matching rest position, in parallel over row bands.
//! Triangles are drawn from the furthest to the nearest (the painter's
//! order), so when the head turns the nose covers the cheek behind it.

use rayon::prelude::*;

use crate::deform::Posed;
use crate::shape::Vec2;

/// Rows per parallel work item: small enough to balance two cores over a
/// face, large enough that the per-band triangle scan stays cheap.
const BAND_ROWS: usize = 16;

/// A triangle ready to fill: its deformed corners, bounding rows and the
/// affine map from a frame pixel to the base pixel to sample.
struct Span {
    corners: [Vec2; 3],
    area: f32,
    rows: (usize, usize),
    columns: (usize, usize),
    /// source = (m[0]·x + m[1]·y + m[2], m[3]·x + m[4]·y + m[5])
    map: [f32; 6],
}

fn prepare(dst: [Vec2; 3], src: [Vec2; 3], clip: [usize; 4]) -> Option<Span> {
    let area = (dst[1][0] - dst[0][0]) * (dst[2][1] - dst[0][1]) - (dst[2][0] - dst[0][0]) * (dst[1][1] - dst[0][1]);
    if area.abs() < 1e-6 {
        return None;
    }
    let lo = |axis: usize| dst.iter().map(|p| p[axis]).fold(f32::MAX, f32::min);
    let hi = |axis: usize| dst.iter().map(|p| p[axis]).fold(f32::MIN, f32::max);
    let x0 = (lo(0).floor().max(clip[0] as f32)) as usize;
    let x1 = (hi(0).ceil().min(clip[2] as f32)).max(0.0) as usize;
    let y0 = (lo(1).floor().max(clip[1] as f32)) as usize;
    let y1 = (hi(1).ceil().min(clip[3] as f32)).max(0.0) as usize;
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    // Solve the affine map through the three corner pairs.
    let inv = 1.0 / area;
    let (a, b, c) = (dst[0], dst[1], dst[2]);
    let mut map = [0.0; 6];
    for axis in 0..2 {
        let (s0, s1, s2) = (src[0][axis], src[1][axis], src[2][axis]);
        let gx = ((s1 - s0) * (c[1] - a[1]) - (s2 - s0) * (b[1] - a[1])) * inv;
        let gy = ((s2 - s0) * (b[0] - a[0]) - (s1 - s0) * (c[0] - a[0])) * inv;
        map[axis * 3] = gx;
        map[axis * 3 + 1] = gy;
        map[axis * 3 + 2] = s0 - gx * a[0] - gy * a[1];
    }
    Some(Span { corners: dst, area, rows: (y0, y1), columns: (x0, x1), map })
}

/// Draws every triangle of the mesh into `frame` (RGB24, `width` wide).
pub(crate) fn draw_mesh(
    frame: &mut [u8],
    width: usize,
    base: &[u8],
    clip: [usize; 4],
    rest: &[Vec2],
    posed: &Posed,
    triangles: &[[u32; 3]],
) {
    let deformed = &posed.points;
    let mut spans: Vec<(f32, Span)> = triangles
        .iter()
        .filter_map(|t| {
            let [a, b, c] = t.map(|i| i as usize);
            let depth = posed.depth[a] + posed.depth[b] + posed.depth[c];
            prepare([deformed[a], deformed[b], deformed[c]], [rest[a], rest[b], rest[c]], clip).map(|s| (depth, s))
        })
        .collect();
    spans.sort_by(|a, b| b.0.total_cmp(&a.0));
    let spans: Vec<Span> = spans.into_iter().map(|(_, span)| span).collect();
    let Some(top) = spans.iter().map(|s| s.rows.0).min() else {
        return;
    };
    let bottom = spans.iter().map(|s| s.rows.1).max().unwrap_or(top);
    let height = base.len() / (width * 3);
    let stride = width * 3;
    frame[top * stride..bottom * stride].par_chunks_mut(BAND_ROWS * stride).enumerate().for_each(|(band, rows)| {
        let band_top = top + band * BAND_ROWS;
        let band_bottom = band_top + rows.len() / stride;
        for span in spans.iter().filter(|s| s.rows.0 < band_bottom && s.rows.1 > band_top) {
            fill(rows, band_top, band_bottom, stride, span, base, width, height);
        }
    });
}

#[allow(clippy::too_many_arguments)]
fn fill(
    rows: &mut [u8],
    band_top: usize,
    band_bottom: usize,
    stride: usize,
    span: &Span,
    base: &[u8],
    width: usize,
    height: usize,
) {
    let [a, b, c] = span.corners;
    // Each edge p→q as a linear function of the pixel centre, normalised so
    // inside is positive whatever the winding: e(x, y) = ex·x + ey·y + e0.
    let sign = span.area.signum();
    let edges = [(b, c), (c, a), (a, b)].map(|(p, q): (Vec2, Vec2)| {
        let (ex, ey) = (-sign * (q[1] - p[1]), sign * (q[0] - p[0]));
        (ex, ey, -(ex * p[0] + ey * p[1]))
    });
    // A hair of slack (in units of the triangle's area) closes the cracks
    // that rounding would open between neighbours.
    let slack = -1e-3 * span.area.abs();
    let m = &span.map;
    for y in span.rows.0.max(band_top)..span.rows.1.min(band_bottom) {
        let py = y as f32 + 0.5;
        // The pixel centres of this row inside all three edges: each edge
        // bounds x from one side, so the row's run is found, not searched.
        let (mut lo, mut hi) = (span.columns.0 as f32 + 0.5, span.columns.1 as f32 - 0.5);
        for &(ex, ey, e0) in &edges {
            let bound = (slack - ey * py - e0) / ex;
            if ex > 0.0 {
                lo = lo.max(bound);
            } else if ex < 0.0 {
                hi = hi.min(bound);
            } else if ey * py + e0 < slack {
                hi = f32::MIN;
            }
        }
        // Empty, or NaN from a degenerate edge.
        if lo.partial_cmp(&hi).is_none_or(|order| order.is_gt()) {
            continue;
        }
        let (x0, x1) = ((lo - 0.5).ceil() as usize, (hi - 0.5).floor() as usize + 1);
        let row = &mut rows[(y - band_top) * stride..(y - band_top + 1) * stride];
        // The sampling position moves by (m0, m3) per pixel along the row.
        let start = x0 as f32 + 0.5;
        let (mut sx, mut sy) = (m[0] * start + m[1] * py + m[2] - 0.5, m[3] * start + m[4] * py + m[5] - 0.5);
        for pixel in row[x0 * 3..x1.max(x0) * 3].chunks_exact_mut(3) {
            pixel.copy_from_slice(&bilinear(base, width, height, sx, sy));
            sx += m[0];
            sy += m[3];
        }
    }
}

/// The base sampled between pixels, with weights in 1/256ths (integer
/// arithmetic: the float version spent most of a frame converting).
fn bilinear(base: &[u8], width: usize, height: usize, x: f32, y: f32) -> [u8; 3] {
    let x = x.clamp(0.0, (width - 1) as f32);
    let y = y.clamp(0.0, (height - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let fx = ((x - x0 as f32) * 256.0) as u32;
    let fy = ((y - y0 as f32) * 256.0) as u32;
    let right = if x0 + 1 < width { 3 } else { 0 };
    let down = if y0 + 1 < height { width * 3 } else { 0 };
    let top = (y0 * width + x0) * 3;
    // One slice from the top-left to the bottom-right corner: one bounds check.
    let corners = &base[top..top + down + right + 3];
    let (w00, w01, w10, w11) = ((256 - fx) * (256 - fy), fx * (256 - fy), (256 - fx) * fy, fx * fy);
    let channel = |ch: usize| {
        let sum = u32::from(corners[ch]) * w00
            + u32::from(corners[right + ch]) * w01
            + u32::from(corners[down + ch]) * w10
            + u32::from(corners[down + right + ch]) * w11;
        ((sum + (1 << 15)) >> 16) as u8
    };
    [channel(0), channel(1), channel(2)]
}
