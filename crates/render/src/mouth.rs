//! The inside of the mouth, painted between the inner lip contours: upper
//! teeth under the upper lip, lower teeth once the jaw has dropped far
//! enough, a tongue that shows on open vowels and lifts its tip for
//! l, t, d, n and th, and a cavity that goes from a dark red-brown by the
//! lips to deep shadow at the back (never black), all dimmed to the photo's
//! light, with soft edges and the photo's own grain.
//!
//! When the photo itself shows teeth, those are the upper teeth: they stay
//! with the head while the lips move over them and the jaw drops away from
//! them, so the person keeps their own teeth instead of getting a second,
//! painted set.

use crate::shape::{blend, luma, mean, mix, pixel_at, smoothstep, sorted_by_x, y_at};
use face::mesh::{LOWER_INNER_LIP, UPPER_INNER_LIP};

use crate::shape::Vec2;

/// The photo's own teeth: its open mouth, one column of pixels per pixel
/// across the mouth, each from the upper inner lip down to the lower one.
struct PhotoTeeth {
    columns: Vec<Vec<[f32; 3]>>,
}

/// The inner lip contours of a mesh, each sorted from left to right.
fn inner_lips(points: &[Vec2]) -> (Vec<Vec2>, Vec<Vec2>) {
    let line = |indices: &[usize]| sorted_by_x(indices.iter().map(|&i| points[i]));
    (line(&UPPER_INNER_LIP), line(&LOWER_INNER_LIP))
}

impl PhotoTeeth {
    /// Cuts the open mouth out of the photo if it shows teeth: the lips
    /// stand at least a twentieth of the eye distance apart in the middle
    /// and what is between them is light like teeth, not a dark cavity.
    fn find(base: &image::RgbImage, rest: &[Vec2], unit: f32, lips: [f32; 3]) -> Option<PhotoTeeth> {
        let (upper, lower) = inner_lips(rest);
        let (left, right) = (upper[0][0].max(lower[0][0]), upper[upper.len() - 1][0].min(lower[lower.len() - 1][0]));
        let centre = (left + right) / 2.0;
        let gap = y_at(&lower, centre)? - y_at(&upper, centre)?;
        if gap < 0.05 * unit {
            return None;
        }
        let columns: Vec<Vec<[f32; 3]>> = (0..(right - left).floor().max(0.0) as usize)
            .map(|i| {
                let x = left + i as f32 + 0.5;
                let (top, bottom) = (y_at(&upper, x).unwrap_or(0.0), y_at(&lower, x).unwrap_or(0.0));
                (0..(bottom - top).ceil().max(0.0) as usize)
                    .filter_map(|k| pixel_at(base, [x, top + k as f32 + 0.5]))
                    .collect()
            })
            .collect();
        if columns.is_empty() {
            return None;
        }
        // Teeth are about as light as the lips or lighter; a cavity is much darker.
        let middle = &columns[columns.len() / 3..columns.len() * 2 / 3];
        let inside = luma(mean(middle.iter().flatten().copied()));
        (inside > 0.8 * luma(lips)).then_some(PhotoTeeth { columns })
    }

    /// The column at `across` (0 at the left inner corner, 1 at the right)
    /// and how long its teeth are: the last pixel or two of a column are the
    /// lower lip's edge, not teeth.
    fn column(&self, across: f32) -> Option<(&[[f32; 3]], f32)> {
        if !(0.0..=1.0).contains(&across) {
            return None;
        }
        let column = self.columns.get(((across * self.columns.len() as f32) as usize).min(self.columns.len() - 1))?;
        let length = column.len() as f32 - 1.5;
        (length >= 1.0).then_some((column.as_slice(), length))
    }

    /// The photo's teeth at `across` and `below` pixels under the upper lip
    /// of the unmoved mouth, with how much of that pixel they cover (they
    /// end at their biting edge).
    fn at(&self, across: f32, below: f32) -> Option<([f32; 3], f32)> {
        let (column, length) = self.column(across)?;
        if below >= length {
            return None;
        }
        let row = below.max(0.0);
        // The biting edge is soft and a little translucent, as enamel is.
        let edge = smoothstep(length - 0.25 * length.max(4.0), length, row);
        Some((sample(column, row), smoothstep(length, length - 1.5 - 0.3 * edge, row) * (1.0 - 0.25 * edge)))
    }

    /// The photo's teeth at `across` as lower teeth: their biting edge
    /// mirrored upwards from the lower lip, `above` pixels over it, in shadow.
    fn lower_at(&self, across: f32, above: f32) -> Option<[f32; 3]> {
        let (column, length) = self.column(across)?;
        Some(sample(column, (length - 1.0 - above).max(0.0)).map(|c| c * 0.78))
    }
}

/// A column of pixels at a fractional `row` (0 or more), linearly interpolated.
fn sample(column: &[[f32; 3]], row: f32) -> [f32; 3] {
    let (k, t) = (row.floor() as usize, row.fract());
    mix(column[k.min(column.len() - 1)], column[(k + 1).min(column.len() - 1)], t)
}

/// One frame's mouth, as the painter needs it.
#[derive(Clone, Copy)]
pub(crate) struct MouthPose<'a> {
    /// The frame's mesh.
    pub(crate) deformed: &'a [Vec2],
    /// The same frame's mesh without mouth motion: where the upper teeth are.
    pub(crate) skull: &'a [Vec2],
    /// How far the jaw has dropped, in frame pixels.
    pub(crate) opening: f32,
    /// How far the photo's own open mouth has been shut, 0 to 1.
    pub(crate) closing: f32,
    /// The tongue's tip lifted to the upper teeth, 0 to 1.
    pub(crate) tongue_tip: f32,
}

/// Which row of teeth.
#[derive(Clone, Copy)]
enum Jaw {
    Upper,
    Lower,
}

pub(crate) struct MouthStyle {
    unit: f32,
    /// The photo's lip colour, for the line where closed lips meet.
    lips: [f32; 3],
    teeth: Option<PhotoTeeth>,
    /// Brightness of the face relative to a well-lit one (0.5–1.1).
    light: f32,
    /// How colourful the photo is: 0 paints the mouth in greys, 1 in full colour.
    colour: f32,
    /// The photo's grain: the spread of its skin's pixel-to-pixel noise, in levels.
    grain: f32,
    /// Frame pixels per photo pixel (at least 1): edges are made as soft
    /// as the enlarged photo's, never sharper than the face around them.
    softness: f32,
    /// The photo's white balance, per channel around 1: painted teeth take
    /// the tint the whites of the eyes have in this light.
    white: [f32; 3],
}

const TEETH: [f32; 3] = [214.0, 207.0, 192.0];
const LOWER_TEETH: [f32; 3] = [180.0, 172.0, 160.0];
const TONGUE: [f32; 3] = [170.0, 86.0, 88.0];
/// The back of the mouth in shadow, and the inside of the lips and cheeks
/// by the lips: dark, but red-brown, never black.
const CAVITY_DEEP: [f32; 3] = [42.0, 18.0, 19.0];
const CAVITY_EDGE: [f32; 3] = [104.0, 48.0, 46.0];

impl MouthStyle {
    /// Measures the light and colourfulness of the face from the cheeks,
    /// forehead and nose bridge.
    pub(crate) fn from_photo(base: &image::RgbImage, rest: &[Vec2], unit: f32, enlarged: f32) -> MouthStyle {
        let softness = enlarged.max(1.0);
        let at = |landmarks: &[usize]| landmarks.iter().filter_map(|&i| pixel_at(base, rest[i])).collect::<Vec<_>>();
        let samples = at(&[50, 280, 6, 205, 425, 151]);
        let lips = mean(at(&[0, 17, 37, 267, 84, 314]).into_iter());
        let teeth = PhotoTeeth::find(base, rest, unit, lips);
        let grain = grain(base, &[rest[205], rest[425], rest[50], rest[280]], unit);
        if samples.is_empty() {
            return MouthStyle { unit, lips, teeth, light: 1.0, colour: 1.0, grain, softness, white: [1.0; 3] };
        }
        let n = samples.len() as f32;
        let brightness = luma(mean(samples.iter().copied()));
        let white = white_balance(base, rest, unit, brightness);
        let chroma = samples
            .iter()
            .map(|p| {
                let (hi, lo) = (p[0].max(p[1]).max(p[2]), p[0].min(p[1]).min(p[2]));
                (hi - lo) / hi.max(1.0)
            })
            .sum::<f32>()
            / n;
        // Skin in a colour photo has a chroma of 0.2 or more; a greyscale photo has none.
        MouthStyle {
            unit,
            lips,
            teeth,
            light: (brightness / 170.0).clamp(0.5, 1.1),
            colour: (chroma / 0.2).clamp(0.0, 1.0),
            grain,
            softness,
            white,
        }
    }

    /// Paints the interior where the lips of `pose` part. A mouth at rest
    /// shows the photo's own lips.
    pub(crate) fn paint(&self, frame: &mut [u8], width: usize, clip: [usize; 4], pose: &MouthPose) {
        let MouthPose { deformed, skull, opening, closing, tongue_tip } = *pose;
        // Whenever the mouth has moved at all the gap between the lips is
        // painted: the interior where they part, a dark line where they meet.
        let moved = smoothstep(0.0, 0.04 * self.unit, opening);
        let visible = moved.max(closing.clamp(0.0, 1.0));
        if visible <= 0.0 {
            return;
        }
        let (upper, lower) = inner_lips(deformed);
        let (skull_upper, _) = inner_lips(skull);
        let (skull_left, skull_right) = (skull_upper[0][0], skull_upper[skull_upper.len() - 1][0]);
        let left = upper[0][0].max(lower[0][0]);
        let right = upper[upper.len() - 1][0].min(lower[lower.len() - 1][0]);
        let (centre, half) = ((left + right) / 2.0, ((right - left) / 2.0).max(1.0));
        let x0 = (left.floor().max(clip[0] as f32)) as usize;
        let x1 = (right.ceil().min(clip[2] as f32)).max(0.0) as usize;
        for x in x0..x1 {
            let px = x as f32 + 0.5;
            let (Some(top), Some(bottom)) = (y_at(&upper, px), y_at(&lower, px)) else {
                continue;
            };
            let gap = bottom - top;
            // Lips that (nearly) meet show a dark line, not a sliver of what is behind them.
            if gap < 2.0 {
                self.paint_seam(frame, width, clip, x, (top + bottom) / 2.0, visible * smoothstep(-1.0, 0.5, gap));
                if gap < 0.3 {
                    continue;
                }
            }
            let corner = ((px - centre) / half).abs().min(1.0);
            let shade = self.light * (1.0 - 0.55 * corner * corner);
            // Lower teeth show in the middle of a wide-open mouth only; the lip hides them at the sides.
            let lower_teeth_height = (0.04 * self.unit).min(0.2 * gap)
                * smoothstep(0.08, 0.2, gap / self.unit)
                * smoothstep(0.75, 0.2, corner);
            // The tongue shows once the mouth is open; its tip rises
            // behind the upper teeth in the middle of the mouth.
            let tongue = 0.8 * smoothstep(0.03, 0.15, gap / self.unit);
            let tongue_top = 0.5 - 0.4 * tongue_tip * smoothstep(0.7, 0.1, corner);
            // Where the teeth are in this column: under the unmoved upper lip,
            // `across` the photo's mouth (0 to 1) or `from_middle` of it (eye distances).
            let across = (px - skull_left) / (skull_right - skull_left).max(1.0);
            let from_middle = (px - (skull_left + skull_right) / 2.0) / self.unit;
            let skull_top = y_at(&skull_upper, px).unwrap_or(top);
            let y0 = (top.floor().max(clip[1] as f32)) as usize;
            let y1 = (bottom.ceil().min(clip[3] as f32)).max(0.0) as usize;
            for y in y0..y1 {
                let py = y as f32 + 0.5;
                // Antialiased lip edges: partial coverage within a pixel of either contour.
                let soft = self.softness;
                let coverage = ((py - top) / soft + 0.5).clamp(0.0, 1.0) * ((bottom - py) / soft + 0.5).clamp(0.0, 1.0);
                if coverage <= 0.0 {
                    continue;
                }
                let from_top = py - top;
                let from_bottom = bottom - py;
                // Deep in the middle of the opening, lighter within a few
                // hundredths of an eye distance of either lip.
                let by_lip = from_top.min(from_bottom) / (0.06 * self.unit).max(1.5);
                let depth = smoothstep(0.0, 1.0, by_lip) * (1.0 - 0.35 * corner);
                let mut colour = mix(CAVITY_EDGE, CAVITY_DEEP, depth);
                // The tongue is a dome: highest in the middle, falling away
                // into the cheeks' shadow at the sides.
                let dome = tongue_top + 0.3 * corner * corner;
                let on_tongue = smoothstep(dome - 0.05, dome + 0.3, from_top / gap);
                // It is lit from the front, lighter towards its tip, and in
                // the shadow of the upper lip and teeth further back.
                let lit = 0.35 + 0.45 * smoothstep(0.2, 0.9, from_top / gap);
                let tongue_colour = mix(CAVITY_EDGE, TONGUE, lit).map(|c| c * (1.0 - 0.35 * corner));
                colour = mix(colour, tongue_colour, 0.9 * (tongue + 0.6 * tongue_tip).min(1.0) * on_tongue);
                // Lower teeth: the photo's where it has them, else painted.
                let lower_teeth = smoothstep(lower_teeth_height + 0.6, lower_teeth_height - 0.6, from_bottom);
                let own_lower = match &self.teeth {
                    Some(teeth) if lower_teeth > 0.0 => teeth.lower_at(across, from_bottom),
                    _ => None,
                };
                if own_lower.is_none() && lower_teeth > 0.0 {
                    let (teeth, cover) = self.painted_teeth(Jaw::Lower, from_middle, from_bottom, from_bottom);
                    colour = mix(colour, teeth, cover * lower_teeth);
                }
                // Upper teeth: the photo's own, or painted if it shows none.
                let own_upper = match &self.teeth {
                    Some(teeth) => teeth.at(across, py - skull_top),
                    None => {
                        let (teeth, cover) = self.painted_teeth(Jaw::Upper, from_middle, py - skull_top, from_top);
                        colour = mix(colour, teeth, cover);
                        None
                    }
                };
                let mut painted = mix([luma(colour); 3], colour, self.colour).map(|c| c * shade);
                if let Some(teeth) = own_lower {
                    painted = mix(painted, teeth, lower_teeth);
                }
                if let Some((teeth, cover)) = own_upper {
                    painted = mix(painted, teeth, cover);
                }
                // The photo's grain, fixed to the skull so it moves with the head.
                let noise = self.grain * grain_noise(x as f32 - skull_left, py - skull_top);
                let painted = painted.map(|c| (c + noise).clamp(0.0, 255.0));
                blend(&mut frame[(y * width + x) * 3..(y * width + x) * 3 + 3], painted, visible * coverage);
            }
        }
    }

    /// A soft dark line, about a pixel and a half wide, centred on `middle`
    /// in column `x`: where closed lips meet.
    fn paint_seam(&self, frame: &mut [u8], width: usize, clip: [usize; 4], x: usize, middle: f32, strength: f32) {
        let line = self.lips.map(|c| c * 0.55);
        let y0 = ((middle - 1.5).floor().max(clip[1] as f32)) as usize;
        let y1 = ((middle + 1.5).ceil().min(clip[3] as f32)).max(0.0) as usize;
        for y in y0..y1 {
            let alpha = strength * smoothstep(1.25, 0.25, (y as f32 + 0.5 - middle).abs());
            blend(&mut frame[(y * width + x) * 3..(y * width + x) * 3 + 3], line, alpha);
        }
    }

    /// Painted teeth for a photo that shows none, at `across` eye distances
    /// from the middle of the mouth and `into` pixels from where they are
    /// rooted (under the unmoved upper lip, or the lower lip), `from_lip`
    /// pixels from the lip that shadows them: incisors, laterals and canines
    /// of natural widths with thin gaps between them and rounded biting
    /// edges. Returns their colour and how much of the pixel they cover.
    fn painted_teeth(&self, jaw: Jaw, across: f32, into: f32, from_lip: f32) -> ([f32; 3], f32) {
        // Where each tooth ends, from the middle outwards, in eye distances
        // (an upper central incisor is about an eighth of the eye distance wide).
        const UPPER: [f32; 5] = [0.0, 0.13, 0.225, 0.31, 0.39];
        const LOWER: [f32; 4] = [0.0, 0.085, 0.17, 0.25];
        let (edges, length, colour): (&[f32], f32, [f32; 3]) = match jaw {
            Jaw::Upper => (&UPPER, 0.085, TEETH),
            Jaw::Lower => (&LOWER, 0.045, LOWER_TEETH),
        };
        let side = across.abs();
        let Some(index) = edges.windows(2).position(|w| side < w[1]) else {
            return (colour, 0.0);
        };
        let (start, end) = (edges[index], edges[index + 1]);
        let within = (side - start) / (end - start);
        // Teeth further back show less, and their corners are rounded.
        let height = self.unit * length * (1.0 - 0.15 * index as f32) * (1.0 - 0.25 * (2.0 * within - 1.0).powi(6));
        let soft = (0.012 * self.unit).max(0.6);
        let cover = smoothstep(height + soft, height - soft, into);
        let gap_width = (0.005 * self.unit).max(0.8);
        let between = (side - start).min(end - side) * self.unit;
        // Soft gaps, and each tooth rounded: a little darker towards its sides.
        let seam = (1.0 - 0.08 * smoothstep(gap_width, 0.0, between)) * (1.0 - 0.08 * (2.0 * within - 1.0).powi(2));
        let shadow = 0.7 + 0.3 * smoothstep(0.0, 0.3 * height, from_lip);
        // The biting edge is a little translucent: the dark behind shows through.
        let edge = smoothstep(0.6 * height, height, into);
        let tint = self.white;
        let tooth = [0, 1, 2].map(|c| colour[c] * tint[c] * seam * shadow);
        (mix(tooth, CAVITY_EDGE, 0.3 * edge), cover * (1.0 - 0.2 * edge))
    }
}

/// The tint of the whites of the eyes, per channel relative to their
/// luma (1 for a neutral white), from the sclera between each eye's
/// corners and its iris. The brightest third of each patch is taken (lashes
/// and the lids' shadow are darker); eyes whose "whites" are no lighter
/// than the skin (shut, or in deep shadow) give no tint.
fn white_balance(base: &image::RgbImage, rest: &[Vec2], unit: f32, skin: f32) -> [f32; 3] {
    let half = (0.012 * unit).max(1.0) as i32;
    let mut whites = Vec::new();
    for (outer, inner) in [(33, 133), (263, 362)] {
        let (a, b) = (rest[outer], rest[inner]);
        for t in [0.2, 0.8] {
            let centre = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
            let mut patch: Vec<[f32; 3]> = (-half..=half)
                .flat_map(|dy| (-half..=half).map(move |dx| [centre[0] + dx as f32, centre[1] + dy as f32]))
                .filter_map(|p| pixel_at(base, p))
                .collect();
            patch.sort_by(|p, q| luma(*q).total_cmp(&luma(*p)));
            patch.truncate(patch.len().div_ceil(3));
            whites.extend(patch);
        }
    }
    if whites.is_empty() {
        return [1.0; 3];
    }
    let white = mean(whites.into_iter());
    let level = luma(white);
    if level < 1.05 * skin || level < 1.0 {
        return [1.0; 3];
    }
    white.map(|c| (c / level).clamp(0.85, 1.15))
}

/// The spread of the photo's pixel-to-pixel noise on the skin around
/// `points` (a patch a tenth of an eye distance across each), in levels.
fn grain(base: &image::RgbImage, points: &[Vec2], unit: f32) -> f32 {
    let half = (0.05 * unit).max(2.0) as i32;
    let mut differences = Vec::new();
    for p in points {
        for dy in -half..half {
            for dx in -half..half {
                let at = [p[0] + dx as f32, p[1] + dy as f32];
                let (Some(a), Some(b)) = (pixel_at(base, at), pixel_at(base, [at[0] + 1.0, at[1]])) else { continue };
                differences.push(luma(a) - luma(b));
            }
        }
    }
    if differences.is_empty() {
        return 0.0;
    }
    let n = differences.len() as f32;
    let mean = differences.iter().sum::<f32>() / n;
    // Neighbours differ by √2 times each one's own noise.
    ((differences.iter().map(|d| (d - mean).powi(2)).sum::<f32>() / n).sqrt() / std::f32::consts::SQRT_2).min(8.0)
}

/// Noise of spread about 1 at a pixel, the same for the same point: a hash of its position.
fn grain_noise(x: f32, y: f32) -> f32 {
    let (x, y) = (x.round() as i32 as u32, y.round() as i32 as u32);
    let mut h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    // Uniform in [-√3, √3): a spread of 1.
    ((h & 0xFFFF) as f32 / 65536.0 - 0.5) * 2.0 * 3f32.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A skin-coloured photo whose eyes (corners at 40–80 and 120–160 on
    /// row 50) have whites of colour `sclera`.
    fn style_with_whites(sclera: [u8; 3]) -> MouthStyle {
        let base = image::RgbImage::from_fn(200, 200, |_, y| {
            image::Rgb(if (46..=54).contains(&y) { sclera } else { [180, 130, 110] })
        });
        let mut rest = vec![[100.0, 150.0]; 468];
        for (index, x) in [(33, 40.0), (133, 80.0), (362, 120.0), (263, 160.0)] {
            rest[index] = [x, 50.0];
        }
        MouthStyle::from_photo(&base, &rest, 80.0, 1.0)
    }

    fn blue_over_red(style: &MouthStyle) -> f32 {
        let (tooth, cover) = style.painted_teeth(Jaw::Upper, 0.05, 1.0, 5.0);
        assert!(cover > 0.5, "the middle of an incisor is covered: {cover}");
        tooth[2] / tooth[0]
    }

    #[test]
    fn painted_teeth_take_the_tint_of_the_whites_of_the_eyes() {
        let neutral = blue_over_red(&style_with_whites([232, 232, 232]));
        let cold = blue_over_red(&style_with_whites([200, 215, 240]));
        let warm = blue_over_red(&style_with_whites([240, 222, 196]));
        assert!(cold > 1.1 * neutral && warm < 0.9 * neutral, "neutral {neutral}, cold {cold}, warm {warm}");
        // Shut eyes show skin, not whites: the teeth keep their own colour.
        let shut = style_with_whites([180, 130, 110]);
        assert_eq!(shut.white, [1.0; 3]);
    }
}
