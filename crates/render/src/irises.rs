//! Eyes that look about: the iris and pupil are moved inside the eye's
//! opening by the frame's gaze, the white of the eye stretched on one side
//! and compressed on the other, the lids left as they are. The iris itself
//! is only moved, never reshaped: within a little more than its radius the
//! shift is uniform, and it fades to nothing at the eye's corners and lids.

use crate::shape::{Vec2, blend, smoothstep, sorted_by_x, y_at};
use face::mesh::EYES;

/// One iris at rest, in frame pixels.
#[derive(Clone, Copy)]
struct Rest {
    centre: Vec2,
    radius: f32,
}

pub(crate) struct Irises {
    irises: [Rest; 2],
}

impl Irises {
    /// The rig's irises placed in the frame (`scale` and `origin` as the
    /// photo's); none for a rig stored without them.
    pub(crate) fn new(irises: &[face::Iris], scale: f32, origin: Vec2) -> Option<Irises> {
        let place = |iris: &face::Iris| Rest {
            centre: [iris.centre[0] * scale + origin[0], iris.centre[1] * scale + origin[1]],
            radius: (iris.radius * scale).max(1.0),
        };
        match irises {
            [right, left] => Some(Irises { irises: [place(right), place(left)] }),
            _ => None,
        }
    }

    /// Moves each iris of the frame (`deformed`, from `rest` without
    /// motion) by `gaze`, fractions of the eye's width across and down.
    pub(crate) fn paint(
        &self,
        frame: &mut [u8],
        width: usize,
        clip: [usize; 4],
        rest: &[Vec2],
        deformed: &[Vec2],
        gaze: [f32; 2],
    ) {
        if gaze == [0.0, 0.0] {
            return;
        }
        for (eye, iris) in EYES.iter().zip(&self.irises) {
            let upper = sorted_by_x(eye.upper.iter().map(|&i| deformed[i]));
            let lower = sorted_by_x(eye.lower.iter().map(|&i| deformed[i]));
            let (left, right) =
                (upper[0][0].max(lower[0][0]), upper[upper.len() - 1][0].min(lower[lower.len() - 1][0]));
            let eye_width = right - left;
            if eye_width < 4.0 {
                continue;
            }
            // The iris goes where the eye's corners go (head motion; the
            // lids move with blinks), then where the gaze sends it.
            let corners = [eye.upper[0], eye.upper[eye.upper.len() - 1]];
            let moved = corners.map(|i| [deformed[i][0] - rest[i][0], deformed[i][1] - rest[i][1]]);
            let centre = [
                iris.centre[0] + (moved[0][0] + moved[1][0]) / 2.0,
                iris.centre[1] + (moved[0][1] + moved[1][1]) / 2.0,
            ];
            let shift = [gaze[0] * eye_width, gaze[1] * eye_width];
            let target = [centre[0] + shift[0], centre[1] + shift[1]];
            let reach = iris.radius * 1.1;
            // How much of the shift a point gets: all of it over the iris,
            // fading to nothing at the corners (across) and lids (down).
            let across = |x: f32| {
                if x < target[0] - reach {
                    smoothstep(left, target[0] - reach, x)
                } else {
                    smoothstep(right, target[0] + reach, x)
                }
            };
            let x0 = left.floor().max(clip[0] as f32) as usize;
            let x1 = (right.ceil().min(clip[2] as f32)).max(0.0) as usize;
            let (Some(y0), Some(y1)) =
                (upper.iter().map(|p| p[1]).reduce(f32::min), lower.iter().map(|p| p[1]).reduce(f32::max))
            else {
                continue;
            };
            let y0 = (y0.floor().max(clip[1] as f32)) as usize;
            let y1 = (y1.ceil().min(clip[3] as f32)).max(0.0) as usize;
            if x0 >= x1 || y0 >= y1 {
                continue;
            }
            // The eye as it is now, to sample from.
            let copy: Vec<u8> =
                (y0..y1).flat_map(|y| frame[(y * width + x0) * 3..(y * width + x1) * 3].to_vec()).collect();
            let copy_width = x1 - x0;
            let sample = |x: f32, y: f32| -> [f32; 3] {
                let x = (x - x0 as f32 - 0.5).clamp(0.0, (copy_width - 1) as f32);
                let y = (y - y0 as f32 - 0.5).clamp(0.0, (y1 - y0 - 1) as f32);
                let (ix, iy) = (x as usize, y as usize);
                let (jx, jy) = ((ix + 1).min(copy_width - 1), (iy + 1).min(y1 - y0 - 1));
                let (fx, fy) = (x - ix as f32, y - iy as f32);
                let at = |px: usize, py: usize, c: usize| f32::from(copy[(py * copy_width + px) * 3 + c]);
                [0, 1, 2].map(|c| {
                    let top = at(ix, iy, c) * (1.0 - fx) + at(jx, iy, c) * fx;
                    let bottom = at(ix, jy, c) * (1.0 - fx) + at(jx, jy, c) * fx;
                    top * (1.0 - fy) + bottom * fy
                })
            };
            for x in x0..x1 {
                let px = x as f32 + 0.5;
                let (Some(top), Some(bottom)) = (y_at(&upper, px), y_at(&lower, px)) else { continue };
                if bottom - top < 1.0 {
                    continue;
                }
                let sideways = across(px);
                for y in (top.floor().max(y0 as f32) as usize)..(bottom.ceil().min(y1 as f32) as usize) {
                    let py = y as f32 + 0.5;
                    // The lid edges stay as they are: the shift fades within
                    // a pixel or two of them.
                    let inside = (py - top).min(bottom - py);
                    let coverage = smoothstep(0.0, 1.5, inside);
                    if coverage <= 0.0 {
                        continue;
                    }
                    let vertical = if py < target[1] - reach {
                        smoothstep(top, target[1] - reach, py)
                    } else {
                        smoothstep(bottom, target[1] + reach, py)
                    };
                    let sx = px - shift[0] * sideways * smoothstep(0.0, 2.5, inside);
                    let sy = (py - shift[1] * vertical * sideways).clamp(top + 0.5, bottom - 0.5);
                    let colour = sample(sx, sy);
                    blend(&mut frame[(y * width + x) * 3..(y * width + x) * 3 + 3], colour, coverage);
                }
            }
        }
    }
}
