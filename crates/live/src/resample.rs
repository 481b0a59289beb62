//! Sound of any rate brought to the stream's 48 kHz as it arrives, through
//! `rubato`'s FFT resampler, with its delay taken out so that the sound
//! stays in step with the mouth.

use rubato::{FftFixedIn, Resampler as _};

/// Input samples per resampling step: 20 ms at the input rate.
fn chunk_for(rate: u32) -> usize {
    (rate as usize / 50).max(1)
}

pub(crate) struct Resampler {
    inner: Option<FftFixedIn<f32>>,
    from: u32,
    to: u32,
    pending: Vec<f32>,
    /// Output samples still to drop (the resampler's delay).
    skip: usize,
    /// Input taken and output given since the last flush.
    taken: usize,
    given: usize,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Resampler({} Hz → {} Hz)", self.from, self.to)
    }
}

impl Resampler {
    pub(crate) fn new(from: u32, to: u32) -> Resampler {
        let inner = (from != to && from > 0)
            .then(|| FftFixedIn::new(from as usize, to as usize, chunk_for(from), 1, 1).ok())
            .flatten();
        let skip = inner.as_ref().map_or(0, |r| r.output_delay());
        Resampler { inner, from, to, pending: Vec::new(), skip, taken: 0, given: 0 }
    }

    /// Resamples what it can of `samples` now; the rest waits for more.
    pub(crate) fn push(&mut self, samples: &[i16]) -> Vec<i16> {
        self.taken += samples.len();
        let Some(inner) = self.inner.as_mut() else {
            self.given += samples.len();
            return samples.to_vec();
        };
        self.pending.extend(samples.iter().map(|&s| f32::from(s) / 32768.0));
        let mut out = Vec::new();
        while self.pending.len() >= inner.input_frames_next() {
            let step: Vec<f32> = self.pending.drain(..inner.input_frames_next()).collect();
            if let Ok(mut made) = inner.process(&[step], None) {
                out.append(&mut made[0]);
            }
        }
        self.emit(out)
    }

    /// Everything still held, to the exact length the input had; the next
    /// push starts afresh.
    pub(crate) fn flush(&mut self) -> Vec<i16> {
        let wanted = (self.taken as u64 * u64::from(self.to) / u64::from(self.from.max(1))) as usize;
        let mut out = Vec::new();
        if let Some(inner) = self.inner.as_mut() {
            let rest = std::mem::take(&mut self.pending);
            if let Ok(mut made) = inner.process_partial(Some(&[rest]), None) {
                out.append(&mut made[0]);
            }
            // Run out the delay line until the input's whole length has come out.
            while self.given + out.len().saturating_sub(self.skip) < wanted {
                match inner.process_partial::<Vec<f32>>(None, None) {
                    Ok(mut made) if !made[0].is_empty() => out.append(&mut made[0]),
                    _ => break,
                }
            }
        }
        let mut out = self.emit(out);
        out.truncate(wanted.saturating_sub(self.given - out.len()));
        if let Some(inner) = self.inner.as_mut() {
            inner.reset();
            self.skip = inner.output_delay();
        }
        (self.taken, self.given) = (0, 0);
        out
    }

    fn emit(&mut self, made: Vec<f32>) -> Vec<i16> {
        let dropped = self.skip.min(made.len());
        self.skip -= dropped;
        let out: Vec<i16> = made[dropped..].iter().map(|&v| (v * 32768.0).clamp(-32768.0, 32767.0) as i16).collect();
        self.given += out.len();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_keeps_its_length_pitch_and_timing() {
        let from = 22_050;
        let tone: Vec<i16> = (0..from as usize / 2)
            .map(|i| (10_000.0 * (i as f32 * 440.0 * std::f32::consts::TAU / from as f32).sin()) as i16)
            .collect();
        let mut resampler = Resampler::new(from, 48_000);
        let mut out = Vec::new();
        for piece in tone.chunks(700) {
            out.extend(resampler.push(piece));
        }
        out.extend(resampler.flush());
        assert_eq!(out.len(), 24_000, "half a second in, half a second out");
        // 440 Hz: about 440 upward zero crossings a second.
        let crossings = out.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
        assert!((215..=225).contains(&crossings), "{crossings} crossings");
        // The tone starts at once, not after the resampler's delay.
        assert!(out[100..500].iter().any(|&s| s.unsigned_abs() > 5000));
    }
}
