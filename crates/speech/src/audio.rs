//! Work on finished speech audio: a pitch change by resampling (for voices
//! whose engine has no pitch control) and loudness normalisation to the
//! level talking videos are published at.

use crate::{Speech, SpeechError};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler, SincInterpolationParameters, WindowFunction};

/// Integrated loudness videos are delivered at, in LUFS (the usual target
/// for speech on the web and in podcasts).
pub const TARGET_LOUDNESS: f64 = -16.0;
/// Highest sample peak after normalisation, in dBFS: a little headroom so
/// the AAC encoder does not clip.
const PEAK_CEILING: f64 = -1.0;

/// 16-bit samples as floats from −1 to 1.
pub(crate) fn to_float(samples: &[i16]) -> Vec<f32> {
    samples.iter().map(|&s| s as f32 / i16::MAX as f32).collect()
}

/// Floats from −1 to 1 as 16-bit samples (louder ones clipped).
pub(crate) fn to_pcm(signal: &[f32]) -> Vec<i16> {
    signal.iter().map(|&s| (s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16).collect()
}

/// Raises the pitch of `speech` by `shift` (0.5–2) by playing it `shift`
/// times faster: the caller made it `shift` times slower beforehand, so the
/// duration comes back to what was asked. Timings are scaled to match.
pub(crate) fn change_pitch(speech: Speech, shift: f32) -> Result<Speech, SpeechError> {
    let input = to_float(&speech.samples);
    let engine = |e: &dyn std::fmt::Display| SpeechError::Engine(format!("pitch change: {e}"));
    let mut resampler = Async::<f32>::new_sinc(
        1.0 / shift as f64,
        1.0,
        &SincInterpolationParameters::new(128, WindowFunction::BlackmanHarris2),
        1024,
        1,
        FixedAsync::Input,
    )
    .map_err(|e| engine(&e))?;
    let adapter = InterleavedSlice::new(&input, 1, input.len()).map_err(|e| engine(&e))?;
    let output = resampler.process_all(&adapter, input.len(), None).map_err(|e| engine(&e))?.take_data();
    let mut pitched = Speech {
        sample_rate: speech.sample_rate,
        samples: to_pcm(&output),
        phonemes: speech.phonemes,
        words: speech.words,
    };
    pitched.retime(|t| t / shift);
    Ok(pitched)
}

/// Integrated loudness of mono samples in LUFS, or `None` for silence (or
/// audio too short to measure).
pub fn loudness(samples: &[i16], sample_rate: u32) -> Option<f64> {
    loudness_of(&to_float(samples), sample_rate)
}

/// Brings mono samples to about [`TARGET_LOUDNESS`]. Speech has peaks far
/// above its average level, so plain gain would clip them: a peak limiter
/// (5 ms look-ahead) holds them under the ceiling, and a second pass makes
/// up for the loudness the limiter took. Silence is left alone.
pub fn normalize_loudness(samples: &mut [i16], sample_rate: u32) {
    let ceiling = 10f32.powf(PEAK_CEILING as f32 / 20.0);
    let mut signal = to_float(samples);
    for _ in 0..2 {
        let Some(current) = loudness_of(&signal, sample_rate) else { return };
        let gain = 10f32.powf((TARGET_LOUDNESS - current) as f32 / 20.0);
        signal.iter_mut().for_each(|s| *s *= gain);
        limit_peaks(&mut signal, ceiling, (sample_rate as usize / 200).max(1));
    }
    samples.copy_from_slice(&to_pcm(&signal));
}

fn loudness_of(signal: &[f32], sample_rate: u32) -> Option<f64> {
    let mut meter = ebur128::EbuR128::new(1, sample_rate, ebur128::Mode::I).ok()?;
    meter.add_frames_f32(signal).ok()?;
    meter.loudness_global().ok().filter(|l| l.is_finite())
}

/// Scales the signal down around every sample louder than `ceiling`. The
/// gain each sample needs is spread `window` samples either way by a
/// running minimum and then smoothed by an average over `window` samples:
/// every average is over minima that include the peak's own need, so the
/// peak ends under the ceiling, and the gain changes over milliseconds, not
/// from one sample to the next (which would be heard as distortion).
fn limit_peaks(signal: &mut [f32], ceiling: f32, window: usize) {
    let need: Vec<f32> = signal.iter().map(|s| (ceiling / s.abs().max(1e-9)).min(1.0)).collect();
    if need.iter().all(|&g| g >= 1.0) {
        return;
    }
    let n = need.len();
    let spread: Vec<f32> = (0..n)
        .map(|i| need[i.saturating_sub(window)..(i + window + 1).min(n)].iter().copied().fold(1.0, f32::min))
        .collect();
    let half = window / 2;
    let mut sums = Vec::with_capacity(n + 1);
    sums.push(0.0f64);
    for &g in &spread {
        sums.push(sums[sums.len() - 1] + g as f64);
    }
    for (i, sample) in signal.iter_mut().enumerate() {
        let (from, to) = (i.saturating_sub(half), (i + half + 1).min(n));
        let gain = ((sums[to] - sums[from]) / (to - from) as f64) as f32;
        *sample *= gain.min(need[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(amplitude: f32, seconds: f32) -> Vec<i16> {
        (0..(22_050.0 * seconds) as usize)
            .map(|i| {
                let t = i as f32 / 22_050.0;
                // A tone with a slow swell, like speech, and one loud click.
                let swell = 0.6 + 0.4 * (t * 3.0).sin();
                (amplitude * swell * (t * 440.0 * std::f32::consts::TAU).sin() * i16::MAX as f32) as i16
            })
            .collect()
    }

    #[test]
    fn quiet_and_loud_audio_end_at_the_target() {
        for amplitude in [0.02, 0.5] {
            let mut samples = tone(amplitude, 3.0);
            normalize_loudness(&mut samples, 22_050);
            let after = loudness(&samples, 22_050).expect("measurable");
            assert!((after - TARGET_LOUDNESS).abs() < 0.5, "amplitude {amplitude}: {after} LUFS");
        }
        let mut silence = vec![0i16; 22_050];
        normalize_loudness(&mut silence, 22_050);
        assert!(silence.iter().all(|&s| s == 0));
    }

    #[test]
    fn peaks_stay_below_the_ceiling() {
        let mut samples = tone(0.05, 3.0);
        for click in (1000..60_000).step_by(5000) {
            samples[click] = i16::MAX / 2;
        }
        normalize_loudness(&mut samples, 22_050);
        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0) as f64 / i16::MAX as f64;
        assert!(20.0 * peak.log10() <= PEAK_CEILING + 0.01, "peak {peak}");
    }
}
