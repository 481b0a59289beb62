//! Speech from recorded audio: the timing the mouth needs, read from the
//! sound itself, for HeyGen's voice type "audio".
//!
//! Method, chosen to be small and robust rather than a recogniser: every
//! 20 ms, a 40 ms Hann-windowed spectrum gives loudness, the share of
//! energy above 2.5 kHz (frication: s, z, sh, f) and, for voiced sound, the
//! spectral centroid below 4 kHz, a stand-in for the first two formants:
//! rounded vowels (o, u) keep their energy low, open vowels (a) sit in the
//! middle, spread vowels (i, e) push it up through a high second formant.
//! Quiet frames are rest. Runs of equal frames become timed "phonemes"
//! carrying those visemes; the motion stage also follows the loudness, so
//! the jaw tracks the recording even where the class is a guess.

use crate::{Speech, TimedPhoneme, Viseme};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

const HOP_SECONDS: f32 = 0.02;
const WINDOW: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Frame {
    loudness: f32,
    high_share: f32,
    centroid: f32,
}

fn analyse(samples: &[i16], sample_rate: u32) -> Vec<Frame> {
    let hop = ((sample_rate as f32 * HOP_SECONDS) as usize).max(1);
    let span = ((sample_rate as f32 * 2.0 * HOP_SECONDS) as usize).clamp(1, WINDOW);
    let fft = FftPlanner::<f32>::new().plan_fft_forward(WINDOW);
    let hann: Vec<f32> =
        (0..span).map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / span.max(2) as f32).cos()).collect();
    let bin_hz = sample_rate as f32 / WINDOW as f32;
    let frames = samples.len().div_ceil(hop);
    let mut buffer = vec![Complex::new(0.0f32, 0.0); WINDOW];
    (0..frames)
        .map(|frame| {
            let start = frame * hop;
            let slice = &samples[start.min(samples.len())..(start + span).min(samples.len())];
            let loudness = (slice.iter().map(|&s| (f32::from(s) / 32768.0).powi(2)).sum::<f32>()
                / slice.len().max(1) as f32)
                .sqrt();
            buffer.iter_mut().for_each(|c| *c = Complex::new(0.0, 0.0));
            for (i, &s) in slice.iter().enumerate() {
                buffer[i] = Complex::new(f32::from(s) / 32768.0 * hann[i], 0.0);
            }
            fft.process(&mut buffer);
            let (mut low, mut high, mut weighted) = (0.0f32, 0.0f32, 0.0f32);
            for (bin, value) in buffer.iter().enumerate().take(WINDOW / 2) {
                let hz = bin as f32 * bin_hz;
                let power = value.norm_sqr();
                if (100.0..4000.0).contains(&hz) {
                    low += power;
                    weighted += power * hz;
                }
                if hz >= 2500.0 {
                    high += power;
                }
            }
            Frame {
                loudness,
                high_share: high / (low + high).max(1e-12),
                centroid: if low > 0.0 { weighted / low } else { 0.0 },
            }
        })
        .collect()
}

fn classify(frame: &Frame, quiet: f32) -> Viseme {
    if frame.loudness < quiet {
        Viseme::Rest
    } else if frame.high_share > 0.5 {
        Viseme::Alveolar
    } else if frame.centroid < 650.0 {
        Viseme::Rounded
    } else if frame.centroid < 1300.0 {
        Viseme::Open
    } else if frame.centroid < 1900.0 {
        Viseme::Mid
    } else {
        Viseme::Spread
    }
}

impl Speech {
    /// Timing for recorded speech (mono 16-bit PCM).
    pub fn from_audio(samples: Vec<i16>, sample_rate: u32) -> Speech {
        let frames = analyse(&samples, sample_rate);
        let mut levels: Vec<f32> = frames.iter().map(|f| f.loudness).collect();
        levels.sort_by(f32::total_cmp);
        let loud = levels.get(levels.len() * 95 / 100).copied().unwrap_or(0.0);
        // Quieter than a twelfth of the loud parts, or near digital silence, is a pause.
        let quiet = (loud / 12.0).max(0.002);
        let duration = samples.len() as f32 / sample_rate as f32;
        let mut phonemes: Vec<TimedPhoneme> = Vec::new();
        for (index, frame) in frames.iter().enumerate() {
            let viseme = classify(frame, quiet);
            let start = index as f32 * HOP_SECONDS;
            let end = ((index + 1) as f32 * HOP_SECONDS).min(duration);
            match phonemes.last_mut() {
                Some(last) if last.viseme == viseme => last.end = end,
                _ => phonemes.push(TimedPhoneme { start, end, phoneme: format!("~{viseme:?}"), viseme }),
            }
        }
        Speech { sample_rate, samples, phonemes, words: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, seconds: f32, rate: u32, amplitude: f32) -> Vec<i16> {
        (0..(seconds * rate as f32) as usize)
            .map(|i| (amplitude * (std::f32::consts::TAU * hz * i as f32 / rate as f32).sin()) as i16)
            .collect()
    }

    #[test]
    fn pauses_rest_and_sound_moves_the_mouth() {
        let rate = 22_050;
        let mut samples = vec![0i16; rate as usize / 2];
        samples.extend(tone(1000.0, 0.5, rate, 12_000.0));
        samples.extend(vec![0i16; rate as usize / 2]);
        samples.extend(tone(400.0, 0.5, rate, 12_000.0));
        let speech = Speech::from_audio(samples, rate);
        let at = |t: f32| speech.phonemes.iter().find(|p| p.start <= t && t < p.end).map(|p| p.viseme);
        assert_eq!(at(0.25), Some(Viseme::Rest));
        assert_eq!(at(0.75), Some(Viseme::Open), "{:?}", speech.phonemes);
        assert_eq!(at(1.25), Some(Viseme::Rest));
        assert_eq!(at(1.75), Some(Viseme::Rounded), "{:?}", speech.phonemes);
        assert!(speech.phonemes.windows(2).all(|w| (w[1].start - w[0].end).abs() < 1e-4), "no gaps");
        assert!((speech.phonemes.last().map_or(0.0, |p| p.end) - 2.0).abs() < 0.03);
    }
}
