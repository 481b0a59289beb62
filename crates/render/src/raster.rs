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
    // Edge functions, normalised so inside is positive whatever the winding.
    let sign = span.area.signum();
    let edge = |p: Vec2, q: Vec2, x: f32, y: f32| sign * ((q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]));
    // A hair of slack closes the cracks that rounding would open between neighbours.
    const SLACK: f32 = -1e-3;
    for y in span.rows.0.max(band_top)..span.rows.1.min(band_bottom) {
        let py = y as f32 + 0.5;
        let row = &mut rows[(y - band_top) * stride..(y - band_top + 1) * stride];
        for x in span.columns.0..span.columns.1 {
            let px = x as f32 + 0.5;
            let scale = span.area.abs();
            if edge(b, c, px, py) / scale < SLACK
                || edge(c, a, px, py) / scale < SLACK
                || edge(a, b, px, py) / scale < SLACK
            {
                continue;
            }
            let m = &span.map;
            let sx = m[0] * px + m[1] * py + m[2] - 0.5;
            let sy = m[3] * px + m[4] * py + m[5] - 0.5;
            let rgb = bilinear(base, width, height, sx, sy);
            row[x * 3..x * 3 + 3].copy_from_slice(&rgb);
        }
    }
}

fn bilinear(base: &[u8], width: usize, height: usize, x: f32, y: f32) -> [u8; 3] {
    let x = x.clamp(0.0, (width - 1) as f32);
    let y = y.clamp(0.0, (height - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let at = |px: usize, py: usize, ch: usize| f32::from(base[(py * width + px) * 3 + ch]);
    let mut out = [0u8; 3];
    for (ch, value) in out.iter_mut().enumerate() {
        let top = at(x0, y0, ch) * (1.0 - fx) + at(x1, y0, ch) * fx;
        let bottom = at(x0, y1, ch) * (1.0 - fx) + at(x1, y1, ch) * fx;
        *value = (top * (1.0 - fy) + bottom * fy + 0.5) as u8;
    }
    out
}
