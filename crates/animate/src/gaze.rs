//! Where the eyes look. People talking to a camera hold its gaze, glance
//! away every one to four seconds (a saccade: a jump of a few percent of
//! the eye's width that takes a frame or two) and come back.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The largest glance, as a fraction of the eye's width.
const REACH: f32 = 0.08;
/// A saccade takes this long, in seconds.
const JUMP: f32 = 0.05;

/// The gaze (x, y as fractions of the eye width) for each frame.
pub(crate) fn gaze_track(frames: usize, fps: f32, seed: u64) -> Vec<[f32; 2]> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x6A2E);
    // (when, where to): alternately away and back to the camera.
    let mut targets: Vec<(f32, [f32; 2])> = Vec::new();
    let end = frames as f32 / fps;
    let mut t = rng.random_range(0.8..2.0);
    let mut away = true;
    while t < end {
        let target = if away {
            let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            [side * rng.random_range(0.4..1.0) * REACH, rng.random_range(-0.35..0.35) * REACH]
        } else {
            [0.0, 0.0]
        };
        targets.push((t, target));
        away = !away;
        t += if away { rng.random_range(1.0..4.0) } else { rng.random_range(0.6..1.6) };
    }
    (0..frames)
        .map(|frame| {
            let t = frame as f32 / fps;
            // A glance ends `JUMP` after it starts: from the last one ended, only later ones blend in.
            let settled = targets.partition_point(|&(at, _)| t - at >= JUMP);
            let (mut gaze, later) = match settled.checked_sub(1) {
                Some(last) => (targets[last].1, &targets[settled..]),
                None => ([0.0f32; 2], &targets[..]),
            };
            for &(at, target) in later {
                if t < at {
                    break;
                }
                let k = crate::smooth((t - at) / JUMP);
                gaze = [gaze[0] + (target[0] - gaze[0]) * k, gaze[1] + (target[1] - gaze[1]) * k];
            }
            gaze
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eyes_glance_away_and_back() {
        let track = gaze_track(250, 25.0, 9);
        let jumps = track.windows(3).filter(|w| (w[2][0] - w[0][0]).abs() > 0.02).count();
        assert!(jumps >= 3, "saccades in 10 s: {jumps}");
        assert!(track.iter().all(|g| g[0].abs() <= REACH + 1e-6 && g[1].abs() <= REACH), "within reach");
        assert_eq!(track[0], [0.0, 0.0], "looking into the camera at first");
    }
}
