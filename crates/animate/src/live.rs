//! Motion for a live face, made frame by frame for as long as a session
//! lasts: between utterances the face idles (blinks, glances, breathes,
//! sways, and now and then nods as if listening); an utterance lays its
//! mouth, brows and head accents over that idle motion as it plays, so
//! the head never jumps when speech starts or stops.

use crate::head::{self, Cues};
use crate::{Expression, FPS, FaceMotion, Spoken, blink_times, blinks_at, gaze, smooth};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use speech::Speech;

/// Frames of idle motion made at a time (a minute); the idle track is
/// prefix-stable, so making it longer never changes frames already shown.
const IDLE_BLOCK: usize = 60 * FPS as usize;

/// Breathing: a slow rise and fall of the head, period in seconds and
/// amplitude in eye distances.
const BREATH_PERIOD: f32 = 4.2;
const BREATH_RISE: f32 = 0.004;

/// The idle face of one live session.
#[derive(Debug)]
pub struct LiveMotion {
    seed: u64,
    expression: Expression,
    idle: Vec<FaceMotion>,
}

impl LiveMotion {
    pub fn new(seed: u64, expression: Expression) -> LiveMotion {
        LiveMotion { seed, expression, idle: Vec::new() }
    }

    /// The face in frame `frame` of the session, with `speaking` (an
    /// utterance's frame and how much of it shows, 1 while it plays, easing
    /// to 0 when it is cut off) laid over the idle motion.
    pub fn frame(&mut self, frame: usize, speaking: Option<(&FaceMotion, f32)>) -> FaceMotion {
        if frame >= self.idle.len() {
            let frames = (frame / IDLE_BLOCK + 1) * IDLE_BLOCK;
            self.idle = idle_track(frames, self.seed, self.expression);
        }
        let idle = self.idle[frame];
        let Some((spoken, weight)) = speaking else { return idle };
        let weight = weight.clamp(0.0, 1.0);
        FaceMotion {
            jaw: spoken.jaw * weight,
            width: spoken.width * weight,
            round: spoken.round * weight,
            tuck: spoken.tuck * weight,
            tongue: spoken.tongue * weight,
            close: spoken.close * weight,
            brows: idle.brows.max(spoken.brows * weight),
            smile: idle.smile * (1.0 - 0.4 * (spoken.jaw * weight).min(1.0)),
            yaw: idle.yaw + spoken.yaw * weight,
            pitch: idle.pitch + spoken.pitch * weight,
            roll: idle.roll + spoken.roll * weight,
            ..idle
        }
    }
}

/// The idle face for `frames` frames: blinks, glances, sway, breathing,
/// and listening nods every 5–12 s. Every prefix of it is the same
/// whatever `frames` is.
fn idle_track(frames: usize, seed: u64, expression: Expression) -> Vec<FaceMotion> {
    let fps = FPS as f32;
    let seconds = frames as f32 / fps;
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x11D1E);
    let mut nods = Vec::new();
    let mut at = rng.random_range(3.0..8.0);
    while at < seconds + 1.0 {
        nods.push(at);
        at += rng.random_range(5.0..12.0);
    }
    let cues = Cues { phrase_ends: nods, ..Cues::default() };
    let head = head::head_track(frames, fps, seed, expression.liveliness, &cues);
    let gaze = gaze::gaze_track(frames, fps, seed);
    let blinks = blink_times(seconds + 1.0, seed);
    (0..frames)
        .map(|frame| {
            let t = frame as f32 / fps;
            let pose = head[frame];
            let ease = smooth(t / 0.5);
            let breath = ease * BREATH_RISE * (std::f32::consts::TAU * t / BREATH_PERIOD).sin();
            FaceMotion {
                blink: [blinks_at(&blinks, t); 2],
                gaze: gaze[frame],
                yaw: pose.yaw,
                pitch: pose.pitch + breath,
                roll: pose.roll,
                shift: [pose.shift[0], pose.shift[1] - breath],
                smile: smooth(frame as f32 / 3.0) * expression.smile,
                ..FaceMotion::default()
            }
        })
        .collect()
}

/// One utterance's motion, frame by frame from its first sample: the
/// mouth, brows and closing of an open mouth, and in `yaw`, `pitch` and
/// `roll` the accents speech gives the head (added to the idle sway).
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    frames: Vec<FaceMotion>,
}

impl Overlay {
    pub fn of(speech: &Speech, seed: u64, expression: Expression) -> Overlay {
        let spoken = Spoken::of(speech);
        let fps = FPS as f32;
        let frames = (0..spoken.mouth.len())
            .map(|frame| {
                let accent = head::accent_pose(frame as f32 / fps, seed, expression.liveliness, &spoken.cues);
                FaceMotion {
                    yaw: accent.yaw,
                    pitch: accent.pitch,
                    roll: accent.roll,
                    ..spoken.frame(frame, expression)
                }
            })
            .collect();
        Overlay { frames }
    }

    pub fn get(&self, frame: usize) -> Option<&FaceMotion> {
        self.frames.get(frame)
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use speech::{TimedPhoneme, Viseme};

    #[test]
    fn idle_frames_never_change_as_the_track_grows() {
        let short = idle_track(100, 5, Expression::default());
        let long = idle_track(IDLE_BLOCK * 2, 5, Expression::default());
        assert_eq!(short[..], long[..100]);
        let mut live = LiveMotion::new(5, Expression::default());
        assert_eq!(live.frame(IDLE_BLOCK + 3, None), long[IDLE_BLOCK + 3]);
    }

    #[test]
    fn an_idle_face_blinks_breathes_and_nods() {
        let track = idle_track(30 * FPS as usize, 9, Expression::default());
        let blinks = track.windows(2).filter(|w| w[0].blink[0] <= 0.9 && w[1].blink[0] > 0.9).count();
        assert!((5..=12).contains(&blinks), "{blinks} blinks in 30 s");
        assert!(track.iter().all(|m| m.jaw == 0.0), "the mouth rests");
        let pitch: Vec<f32> = track.iter().map(|m| m.pitch).collect();
        let range = pitch.iter().copied().fold(f32::MIN, f32::max) - pitch.iter().copied().fold(f32::MAX, f32::min);
        assert!(range > 0.02, "the head moves: {range}");
    }

    #[test]
    fn speech_moves_the_mouth_over_the_idle_head() {
        let rate = 16_000;
        let phonemes = vec![TimedPhoneme { start: 0.1, end: 0.5, phoneme: "ˈa".into(), viseme: Viseme::Open }];
        let samples = (0..rate * 6 / 10)
            .map(|i| if (1600..8000).contains(&i) { ((i % 80) as i16 - 40) * 300 } else { 0 })
            .collect();
        let speech = Speech { sample_rate: rate as u32, samples, phonemes, words: Vec::new() };
        let overlay = Overlay::of(&speech, 1, Expression::default());
        assert_eq!(overlay.len(), crate::frame_count(speech.duration()));
        let mut live = LiveMotion::new(1, Expression::default());
        let idle = live.frame(40, None);
        let open = overlay.get(7).copied().unwrap_or_default();
        let spoken = live.frame(40, Some((&open, 1.0)));
        assert!(spoken.jaw > 0.3, "the jaw opens: {spoken:?}");
        assert_eq!((spoken.blink, spoken.gaze, spoken.shift), (idle.blink, idle.gaze, idle.shift));
        let fading = live.frame(40, Some((&open, 0.25)));
        assert!((fading.jaw - spoken.jaw * 0.25).abs() < 1e-6, "an interrupted utterance eases out");
    }
}
