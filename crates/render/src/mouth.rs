//! The inside of the mouth, painted between the inner lip contours: upper
//! teeth under the upper lip, a hint of lower teeth and tongue when wide
//! open, and a dark cavity, all dimmed to the photo's light.

use crate::shape::{smoothstep, y_at};
use face::mesh::{LOWER_INNER_LIP, UPPER_INNER_LIP};

use crate::shape::Vec2;

pub(crate) struct MouthStyle {
    unit: f32,
    /// Brightness of the face relative to a well-lit one (0.5–1.1).
    light: f32,
    /// How colourful the photo is: 0 paints the mouth in greys, 1 in full colour.
    colour: f32,
}

const TEETH: [f32; 3] = [214.0, 207.0, 192.0];
const LOWER_TEETH: [f32; 3] = [180.0, 172.0, 160.0];
const TONGUE: [f32; 3] = [165.0, 78.0, 82.0];
const CAVITY_DEEP: [f32; 3] = [30.0, 9.0, 11.0];
const CAVITY_EDGE: [f32; 3] = [72.0, 28.0, 30.0];

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

impl MouthStyle {
    /// Measures the light and colourfulness of the face from the cheeks,
    /// forehead and nose bridge.
    pub(crate) fn from_photo(base: &image::RgbImage, rest: &[Vec2], unit: f32) -> MouthStyle {
        let samples: Vec<[f32; 3]> = [50usize, 280, 6, 205, 425, 151]
            .iter()
            .filter_map(|&i| {
                let [x, y] = rest[i];
                base.get_pixel_checked(x.max(0.0) as u32, y.max(0.0) as u32).map(|p| p.0.map(f32::from))
            })
            .collect();
        if samples.is_empty() {
            return MouthStyle { unit, light: 1.0, colour: 1.0 };
        }
        let n = samples.len() as f32;
        let luma = samples.iter().map(|p| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]).sum::<f32>() / n;
        let chroma = samples
            .iter()
            .map(|p| {
                let (hi, lo) = (p[0].max(p[1]).max(p[2]), p[0].min(p[1]).min(p[2]));
                (hi - lo) / hi.max(1.0)
            })
            .sum::<f32>()
            / n;
        // Skin in a colour photo has a chroma of 0.2 or more; a greyscale photo has none.
        MouthStyle { unit, light: (luma / 170.0).clamp(0.5, 1.1), colour: (chroma / 0.2).clamp(0.0, 1.0) }
    }

    /// Paints the interior where the lips of `deformed` part; `opening` is
    /// how far the jaw has dropped (frame pixels), fading the interior in
    /// so that a closed mouth shows the photo's own lips.
    pub(crate) fn paint(&self, frame: &mut [u8], width: usize, clip: [usize; 4], deformed: &[Vec2], opening: f32) {
        let visible = smoothstep(0.0, 0.04 * self.unit, opening);
        if visible <= 0.0 {
            return;
        }
        let mut upper: Vec<Vec2> = UPPER_INNER_LIP.iter().map(|&i| deformed[i]).collect();
        let mut lower: Vec<Vec2> = LOWER_INNER_LIP.iter().map(|&i| deformed[i]).collect();
        upper.sort_by(|a, b| a[0].total_cmp(&b[0]));
        lower.sort_by(|a, b| a[0].total_cmp(&b[0]));
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
            if gap < 0.3 {
                continue;
            }
            let corner = ((px - centre) / half).abs().min(1.0);
            let shade = self.light * (1.0 - 0.55 * corner * corner);
            let teeth_height = (0.06 * self.unit).min(0.35 * gap);
            let lower_teeth_height = (0.05 * self.unit).min(0.22 * gap) * smoothstep(0.08, 0.2, gap / self.unit);
            let tongue = 0.7 * smoothstep(0.12, 0.3, gap / self.unit);
            let y0 = (top.floor().max(clip[1] as f32)) as usize;
            let y1 = (bottom.ceil().min(clip[3] as f32)).max(0.0) as usize;
            for y in y0..y1 {
                let py = y as f32 + 0.5;
                // Antialiased lip edges: partial coverage within a pixel of either contour.
                let coverage = (py - top + 0.5).clamp(0.0, 1.0) * (bottom - py + 0.5).clamp(0.0, 1.0);
                if coverage <= 0.0 {
                    continue;
                }
                let from_top = py - top;
                let from_bottom = bottom - py;
                let depth = 1.0 - ((from_top - from_bottom) / gap).abs();
                let mut colour = mix(CAVITY_EDGE, CAVITY_DEEP, depth);
                colour = mix(colour, TONGUE, tongue * smoothstep(0.45, 0.85, from_top / gap));
                colour = mix(
                    colour,
                    LOWER_TEETH,
                    smoothstep(lower_teeth_height + 0.6, lower_teeth_height - 0.6, from_bottom),
                );
                // Upper teeth, a little darker at their biting edge.
                let teeth = smoothstep(teeth_height + 0.6, teeth_height - 0.6, from_top);
                let edge_dim = 1.0 - 0.18 * smoothstep(0.4 * teeth_height, teeth_height, from_top);
                colour = mix(colour, TEETH.map(|c| c * edge_dim), teeth);
                let alpha = visible * coverage;
                let pixel = &mut frame[(y * width + x) * 3..(y * width + x) * 3 + 3];
                let grey = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2];
                let colour = mix([grey; 3], colour, self.colour);
                for (channel, value) in pixel.iter_mut().enumerate() {
                    let painted = (colour[channel] * shade).clamp(0.0, 255.0);
                    *value = (f32::from(*value) * (1.0 - alpha) + painted * alpha + 0.5) as u8;
                }
            }
        }
    }
}
