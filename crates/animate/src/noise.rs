//! Smooth random motion that never repeats: value noise, random values at
//! evenly spaced knots joined by Catmull-Rom curves. Unlike a sum of sine
//! waves it has no period, and unlike filtered white noise it can be read at
//! any time without computing what came before (a live stream needs that).

/// One channel of noise: `seed` and `channel` pick its values, `spacing`
/// (seconds between knots) how fast it wanders.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Noise {
    seed: u64,
    channel: u64,
    spacing: f32,
}

impl Noise {
    pub(crate) fn new(seed: u64, channel: u64, spacing: f32) -> Noise {
        Noise { seed, channel, spacing: spacing.max(1e-3) }
    }

    /// The value at `t` seconds, about normally spread with a standard
    /// deviation near 0.5 (within ±1.5).
    pub(crate) fn at(&self, t: f32) -> f32 {
        let x = t / self.spacing;
        let i = x.floor() as i64;
        let f = x - i as f32;
        let [p0, p1, p2, p3] = [i - 1, i, i + 1, i + 2].map(|k| self.knot(k));
        // Catmull-Rom through the four knots around `t`.
        0.5 * (2.0 * p1
            + (p2 - p0) * f
            + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * f * f
            + (3.0 * p1 - p0 - 3.0 * p2 + p3) * f * f * f)
    }

    /// The random value at knot `k`: the mean of two uniform numbers, so
    /// middling values are commoner than extremes, as in a person's sway.
    fn knot(&self, k: i64) -> f32 {
        let a = unit(mix(self.seed, self.channel, k as u64, 0));
        let b = unit(mix(self.seed, self.channel, k as u64, 1));
        a + b - 1.0
    }
}

/// SplitMix64 over the inputs: a well-spread hash.
fn mix(seed: u64, channel: u64, knot: u64, draw: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(channel.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(knot.wrapping_mul(0x94D0_49BB_1331_11EB))
        .wrapping_add(draw);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash as a number in [0, 1).
fn unit(hash: u64) -> f32 {
    (hash >> 40) as f32 / (1u64 << 24) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_smooth_spread_and_not_periodic() {
        let noise = Noise::new(7, 1, 0.8);
        let values: Vec<f32> = (0..25_000).map(|i| noise.at(i as f32 / 25.0)).collect();
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        let deviation = (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / values.len() as f32).sqrt();
        assert!(mean.abs() < 0.05, "centred: {mean}");
        assert!((0.3..0.6).contains(&deviation), "spread: {deviation}");
        let step = values.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max);
        assert!(step < 0.15, "smooth: a frame moves it by {step}");
        // No lag between 2 and 60 s brings it back onto itself.
        for lag in (50..1500).step_by(25) {
            let same = values.iter().zip(&values[lag..]).filter(|(a, b)| (*a - *b).abs() < 0.02).count();
            assert!(same < values.len() / 10, "repeats after {lag} frames");
        }
        assert_ne!(Noise::new(7, 2, 0.8).at(3.3), noise.at(3.3), "channels differ");
    }
}
