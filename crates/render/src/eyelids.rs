//! Closed eyelids. The mesh alone closes an eye by pulling the lid skin
//! down over it, which stretches the lashes and lid shadow into a dark
//! smear; instead, the part of the eye the lid now covers is painted as lid
//! skin: the colour of the skin around the eye, the grain of the skin under
//! it, shaded like a lid curving over the eyeball, and a line of lashes
//! along its edge in the colour of the photo's lashes.

use crate::shape::{blend, luma, mean, mix, pixel_at, smoothstep, sorted_by_x, y_at};
use face::mesh::EYES;

use crate::shape::Vec2;

/// The colours of one eye's lid, taken from the photo.
#[derive(Clone, Copy)]
struct Lid {
    /// Mean skin between the open lid and the brow.
    skin: [f32; 3],
    /// The darkest colour along the upper lash line.
    lashes: [f32; 3],
}

pub(crate) struct LidStyle {
    lids: [Lid; 2],
    unit: f32,
}

impl LidStyle {
    /// Samples each eye's lid skin (between the upper lid and the brow)
    /// and its lashes (the darkest pixels along the upper lid line).
    pub(crate) fn from_photo(base: &image::RgbImage, rest: &[Vec2], unit: f32) -> LidStyle {
        let lids = [0, 1].map(|eye| {
            // Pixels above the middle of the upper lid, `lifts` eye distances up.
            let above_lid = |lifts: &[f32]| -> Vec<[f32; 3]> {
                EYES[eye].upper[2..7]
                    .iter()
                    .flat_map(|&i| {
                        lifts.iter().filter_map(move |lift| pixel_at(base, [rest[i][0], rest[i][1] - lift * unit]))
                    })
                    .collect()
            };
            let skin_samples = above_lid(&[0.08, 0.11, 0.14]);
            let skin = if skin_samples.is_empty() { [200.0, 170.0, 150.0] } else { mean(skin_samples.into_iter()) };
            let lashes = above_lid(&[-0.005, 0.0, 0.01, 0.02]).into_iter().min_by(|a, b| luma(*a).total_cmp(&luma(*b)));
            // Lashes are never lighter than a dark shade of the skin.
            let lashes = lashes.map_or([40.0, 30.0, 28.0], |dark| {
                if luma(dark) < 0.45 * luma(skin) { dark } else { skin.map(|c| c * 0.45) }
            });
            Lid { skin, lashes }
        });
        LidStyle { lids, unit }
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
            // A lid that has barely moved is left to the mesh; from half
            // closed on, the painted lid covers the stretched one entirely.
            let opacity = smoothstep(0.05, 0.5, amount);
            if opacity <= 0.0 {
                continue;
            }
            let lid = self.lids[eye];
            let top = sorted_by_x(EYES[eye].upper.iter().map(|&i| open[i]));
            let edge = sorted_by_x(EYES[eye].upper.iter().map(|&i| closed[i]));
            let bottom = sorted_by_x(EYES[eye].lower.iter().map(|&i| closed[i]));
            let left = top[0][0].max(edge[0][0]);
            let right = top[top.len() - 1][0].min(edge[edge.len() - 1][0]);
            let x0 = (left.floor().max(clip[0] as f32)) as usize;
            let x1 = (right.ceil().min(clip[2] as f32)).max(0.0) as usize;
            let (centre, half) = ((left + right) / 2.0, ((right - left) / 2.0).max(1.0));
            // Start above the open lid's line, fading in, to cover the photo's upper lashes.
            let fade = (0.05 * self.unit).max(1.0);
            let rows = clip[1]..clip[3];
            // The frame's mean colour over a few pixels around (x, y), before painting.
            let around = |frame: &[u8], x: usize, y: f32| {
                let mut sum = [0.0f32; 3];
                let mut count = 0.0;
                for dy in -1..=1 {
                    let row = (y as i64 + dy).clamp(rows.start as i64, rows.end as i64 - 1) as usize;
                    for column in x.saturating_sub(2).max(clip[0])..(x + 3).min(clip[2]) {
                        for (c, s) in sum.iter_mut().enumerate() {
                            *s += f32::from(frame[(row * width + column) * 3 + c]);
                        }
                        count += 1.0;
                    }
                }
                sum.map(|s| s / f32::max(count, 1.0))
            };
            for x in x0..x1 {
                let px = x as f32 + 0.5;
                let across = (px - centre) / half;
                let corner = across.abs().min(1.0);
                // Lashes are thicker towards the outer corner (the temple side).
                let outer = if eye == 0 { -across } else { across }.clamp(0.0, 1.0);
                let lash = (self.unit * (0.012 + 0.012 * outer)).max(0.8);
                let (Some(lid_line), Some(y_edge), Some(lower_line)) =
                    (y_at(&top, px), y_at(&edge, px), y_at(&bottom, px))
                else {
                    continue;
                };
                if y_edge - lid_line < 0.3 {
                    continue;
                }
                let y_top = lid_line - fade;
                // The lid takes the colour of the skin just above it and, lower
                // down, of the lower lid's skin, so its edges disappear into the face.
                // Just under the lashes and the lower lid, whichever is lower.
                let under = lower_line.max(y_edge) + lash;
                let above = around(frame, x, y_top - 2.0);
                let below = around(frame, x, under + 2.0);
                let mixed = [0, 1, 2].map(|c| 0.7 * above[c] + 0.3 * lid.skin[c]);
                let y0 = (y_top.floor().max(clip[1] as f32)) as usize;
                let y1 = ((y_edge + 0.6 * lash).ceil().min(clip[3] as f32)).max(0.0) as usize;
                // The lid blends into the skin at the eye's corners.
                let sides = smoothstep(1.0, 0.8, corner);
                for y in y0..y1 {
                    let py = y as f32 + 0.5;
                    let coverage = smoothstep(y_top, lid_line, py) * smoothstep(y_edge + 0.6 * lash, y_edge, py);
                    let depth = ((py - lid_line) / (y_edge - lid_line)).clamp(0.0, 1.0);
                    let towards_lower = ((py - y_top) / (under - y_top).max(1.0)).clamp(0.0, 1.0);
                    // Texture: the grain of the skin under the eye (which a blink
                    // leaves unstretched), as detail over the lid's colour.
                    let mirrored = (under + 3.0 + (py - y_top) * 0.5).min(rows.end as f32 - 1.0) as usize;
                    let source = [0, 1, 2].map(|c| f32::from(frame[(mirrored * width + x) * 3 + c]));
                    // A lid curving over the eyeball: lightest high in the middle,
                    // darker towards the corners and into the fold by the lashes.
                    let shade = 1.0 + 0.03 * (1.0 - corner * corner) * (1.0 - depth)
                        - 0.05 * depth * depth
                        - 0.06 * corner * corner;
                    let lashes = 0.9 * smoothstep(y_edge - lash, y_edge - 0.2 * lash, py);
                    let colour = mix(mixed, below, towards_lower);
                    let skin = [0, 1, 2].map(|c| (colour[c] + 0.5 * (source[c] - below[c])) * shade);
                    let painted = mix(skin, lid.lashes, lashes);
                    blend(
                        &mut frame[(y * width + x) * 3..(y * width + x) * 3 + 3],
                        painted,
                        opacity * coverage * sides,
                    );
                }
            }
        }
    }
}
