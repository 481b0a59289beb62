//! Closed eyelids. The mesh alone closes an eye by pulling the lid skin
//! down over it, which stretches the lashes and lid shadow into a dark
//! smear; instead, the part of the eye the lid now covers is painted as lid
//! skin — the skin just above the eye mirrored down, so it keeps the photo's
//! texture and light — darkening towards its edge, with a thin lash line.

use crate::shape::{smoothstep, y_at};
use face::mesh::EYES;

use crate::shape::Vec2;

const LASHES: [f32; 3] = [38.0, 28.0, 26.0];

fn sorted(points: impl Iterator<Item = Vec2>) -> Vec<Vec2> {
    let mut line: Vec<Vec2> = points.collect();
    line.sort_by(|a, b| a[0].total_cmp(&b[0]));
    line
}

pub(crate) struct LidStyle {
    /// Lid skin colour per eye.
    skin: [[f32; 3]; 2],
    unit: f32,
}

impl LidStyle {
    /// Samples the skin between each eye's upper lid and brow.
    pub(crate) fn from_photo(base: &image::RgbImage, rest: &[Vec2], unit: f32) -> LidStyle {
        let skin = [0, 1].map(|eye| {
            let lid = &EYES[eye].upper[2..7];
            let mut sum = [0.0f32; 3];
            let mut count = 0.0;
            for &i in lid {
                let [x, y] = rest[i];
                for lift in [0.08, 0.11, 0.14] {
                    let (sx, sy) = (x.max(0.0) as u32, (y - lift * unit).max(0.0) as u32);
                    if let Some(p) = base.get_pixel_checked(sx, sy) {
                        for c in 0..3 {
                            sum[c] += f32::from(p[c]);
                        }
                        count += 1.0;
                    }
                }
            }
            if count > 0.0 { sum.map(|s| s / count) } else { [200.0, 170.0, 150.0] }
        });
        LidStyle { skin, unit }
    }

    /// Paints the lids where `closed` (this frame's mesh) has brought them
    /// down from `open` (the same frame without the blink).
    pub(crate) fn paint(
        &self,
        frame: &mut [u8],
        width: usize,
        clip: [usize; 4],
        open: &[Vec2],
        closed: &[Vec2],
        blink: [f32; 2],
    ) {
        for (eye, amount) in blink.into_iter().enumerate() {
            // Part of the stretched lid underneath still shows, for texture.
            let alpha = 0.75 * smoothstep(0.05, 0.6, amount);
            if alpha <= 0.0 {
                continue;
            }
            let top = sorted(EYES[eye].upper.iter().map(|&i| open[i]));
            let edge = sorted(EYES[eye].upper.iter().map(|&i| closed[i]));
            let lash = (0.012 * self.unit).max(0.8);
            let left = top[0][0].max(edge[0][0]);
            let right = top[top.len() - 1][0].min(edge[edge.len() - 1][0]);
            let x0 = (left.floor().max(clip[0] as f32)) as usize;
            let x1 = (right.ceil().min(clip[2] as f32)).max(0.0) as usize;
            let (centre, half) = ((left + right) / 2.0, ((right - left) / 2.0).max(1.0));
            for x in x0..x1 {
                let px = x as f32 + 0.5;
                // The eyeball under the lid: lighter in the middle, darker at the corners.
                let corner = ((px - centre) / half).abs().min(1.0);
                let round = 0.92 + 0.08 * (1.0 - corner * corner);
                let (Some(lid_line), Some(y_edge)) = (y_at(&top, px), y_at(&edge, px)) else { continue };
                // Start a little above the open lid's line, fading in, to cover its crease and lashes.
                let fade = (0.03 * self.unit).max(1.0);
                let y_top = lid_line - fade;
                if y_edge - lid_line < 0.3 {
                    continue;
                }
                let y0 = (y_top.floor().max(clip[1] as f32)) as usize;
                let y1 = ((y_edge + lash).ceil().min(clip[3] as f32)).max(0.0) as usize;
                for y in y0..y1 {
                    let py = y as f32 + 0.5;
                    let coverage = smoothstep(y_top, lid_line, py) * (y_edge + lash - py + 0.5).clamp(0.0, 1.0);
                    let depth = ((py - y_top) / (y_edge - y_top).max(1.0)).clamp(0.0, 1.0);
                    // The lid's skin mirrors the skin just above the eye (so it
                    // keeps the photo's texture and light), a little darker
                    // towards its edge; then a thin, soft lash line.
                    let mirrored = (y_top - 1.5 - (py - y_top) * 0.5).max(0.0) as usize;
                    let source = (mirrored * width + x) * 3;
                    let above = [0, 1, 2].map(|c| f32::from(frame[source + c]) * 0.85 + self.skin[eye][c] * 0.15);
                    let shade = round - 0.1 * depth;
                    let lashes = 0.55 * smoothstep(y_edge - lash, y_edge + 0.3 * lash, py) * (1.0 - 0.6 * corner);
                    let a = alpha * coverage;
                    let pixel = &mut frame[(y * width + x) * 3..(y * width + x) * 3 + 3];
                    for (c, value) in pixel.iter_mut().enumerate() {
                        let skin = above[c] * shade;
                        let painted = skin + (LASHES[c] - skin) * lashes;
                        *value = (f32::from(*value) * (1.0 - a) + painted * a + 0.5) as u8;
                    }
                }
            }
        }
    }
}
