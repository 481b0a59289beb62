//! Motion: from timed visemes to one [`FaceMotion`] per video frame.
//!
//! Mouth shapes blend into each other the way speech does (co-articulation,
//! after Cohen and Massaro's dominance model): every phoneme pulls the mouth
//! towards its viseme's target with a weight that peaks at the phoneme's
//! centre and fades around it; consonants that the lips barely show pull
//! weakly and take the shape of the vowels beside them, while p, b and m
//! press the lips shut outright; f and v tuck the lower lip under the upper
//! teeth. Eyes blink every few seconds and glance about in saccades. The
//! head turns in 3-D with smooth noise that never repeats, and the speech
//! accents it: nods on stressed syllables and at the ends of phrases, brows
//! lifted on the most emphatic syllables.
//!
//! Pure: the same input and seed always give the same track. Every frame
//! depends only on the speech up to [`LOOKAHEAD`] after it, so a video can
//! be drawn while its speech is still being made ([`MotionStream`]): the
//! frames come out exactly as if the whole speech had been there at once.

mod gaze;
mod head;
mod live;
mod noise;

pub use live::{LiveMotion, Overlay};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use speech::{Speech, TimedPhoneme, Viseme};

/// The frame rate of every Mouthpiece video (HeyGen's).
pub const FPS: u32 = 25;

/// The face's pose and expression in one frame. Mouth values are unitless
/// (0 = relaxed); lengths are in eye distances; angles in radians.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct FaceMotion {
    /// Jaw opening, 0 (closed) to 1 (wide open).
    pub jaw: f32,
    /// Lip spread, −1 (narrow) to 1 (wide).
    pub width: f32,
    /// Lip rounding, 0 to 1.
    pub round: f32,
    /// The lower lip drawn up under the upper teeth (f, v), 0 to 1.
    pub tuck: f32,
    /// The tongue's tip lifted to the upper teeth (l, t, d, n, th), 0 to 1.
    pub tongue: f32,
    /// Eyelid closure per eye (subject's right, left), 0 open to 1 shut.
    pub blink: [f32; 2],
    /// Where the eyes look, as a fraction of the eye's width (x right in
    /// the picture, y down); 0 looks into the camera.
    pub gaze: [f32; 2],
    /// Brows lifted, 0 to 1.
    pub brows: f32,
    /// Head turn in 3-D: yaw (positive turns the face towards the
    /// picture's right), pitch (positive tips it down), roll (in the
    /// picture's plane).
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
    /// Head shift in eye distances (x right, y down).
    pub shift: [f32; 2],
    /// Smile: mouth corners up and out, 0 to 1.
    pub smile: f32,
    /// How far a mouth the photo shows open is closed, 0 to 1: 0 in the
    /// first frame (which is the photo itself), 1 from just before each
    /// sound to just after it, back to 0 in pauses.
    pub close: f32,
}

/// HeyGen's `talking_style` and `expression` for a talking photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expression {
    /// Scales head motion: 1 for HeyGen's "stable", more for "expressive".
    pub liveliness: f32,
    /// Resting smile: 0 for "default", more for "happy".
    pub smile: f32,
}

impl Default for Expression {
    fn default() -> Self {
        Expression { liveliness: 1.0, smile: 0.0 }
    }
}

impl Expression {
    pub const STABLE: Expression = Expression { liveliness: 1.0, smile: 0.0 };
    pub const EXPRESSIVE: Expression = Expression { liveliness: 1.5, smile: 0.0 };
    pub const HAPPY_SMILE: f32 = 0.8;
}

/// Target mouth shape (jaw, width, round) and dominance of a viseme.
fn target(viseme: Viseme) -> ([f32; 3], f32) {
    match viseme {
        Viseme::Rest => ([0.0, 0.0, 0.0], 0.5),
        Viseme::Closed => ([0.0, 0.0, 0.0], 1.0),
        Viseme::LipTeeth => ([0.12, 0.05, 0.0], 0.9),
        Viseme::Dental => ([0.25, 0.1, 0.0], 0.5),
        Viseme::Alveolar => ([0.2, 0.05, 0.0], 0.3),
        Viseme::PostAlveolar => ([0.2, -0.25, 0.55], 0.6),
        Viseme::Velar => ([0.3, 0.0, 0.0], 0.25),
        Viseme::Rhotic => ([0.22, -0.15, 0.4], 0.5),
        Viseme::Rounded => ([0.22, -0.2, 1.0], 0.85),
        Viseme::RoundedOpen => ([0.5, -0.15, 0.75], 0.8),
        Viseme::Spread => ([0.22, 0.8, 0.0], 0.7),
        Viseme::Mid => ([0.45, 0.15, 0.0], 0.7),
        Viseme::Open => ([1.0, 0.1, 0.0], 0.85),
    }
}

/// Number of frames for audio of `duration` seconds: the video never cuts
/// the audio short and is at most one frame longer.
pub fn frame_count(duration: f32) -> usize {
    ((duration * FPS as f32).ceil() as usize).max(1)
}

/// How far the mouth runs ahead of the sound: lips and jaw move into a
/// shape before the sound of it starts (anticipatory co-articulation).
const ANTICIPATION: f32 = 0.04;

/// How much of the jaw's opening follows the loudness of the voice; the
/// rest comes from the visemes' targets. Louder syllables open wider.
const LOUDNESS_SHARE: f32 = 0.8;

/// Jaw opening of a syllable at the loudness of the loudest tenth of the speech.
const JAW_AT_FULL_VOICE: f32 = 0.8;

/// A mouth the photo shows open is shut this long (seconds) before and
/// after every sound, and takes `CLOSE_EASE` more to close or open again.
const CLOSED_WITHIN: f32 = 0.05;
const CLOSE_EASE: f32 = 0.3;

/// How far ahead of a frame the speech must be known for the frame to be
/// settled, in seconds: a blink looks up to 1.4 s ahead for a quiet moment,
/// the brows 2 s for a stronger syllable, the jaw 1.5 s for the voice's level.
pub const LOOKAHEAD: f32 = 2.5;

/// Motion made while the speech still arrives, piece by piece (whole
/// sentences, as a voice speaks them): each frame is handed out once the
/// speech known reaches [`LOOKAHEAD`] past it, and equals the frame
/// [`motion_track`] makes of the whole speech.
#[derive(Debug)]
pub struct MotionStream {
    speech: Option<Speech>,
    seed: u64,
    expression: Expression,
    taken: usize,
    finished: bool,
}

impl MotionStream {
    pub fn new(seed: u64, expression: Expression) -> MotionStream {
        MotionStream { speech: None, seed, expression, taken: 0, finished: false }
    }

    /// Appends the next piece of speech (at the sample rate of the first).
    pub fn push(&mut self, piece: Speech) {
        match self.speech.as_mut() {
            Some(speech) => speech.append(piece),
            None => self.speech = Some(piece),
        }
    }

    /// No more speech will come: every remaining frame is settled.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// The settled frames not handed out yet.
    pub fn take_ready(&mut self) -> Vec<FaceMotion> {
        let Some(speech) = &self.speech else { return Vec::new() };
        let track = motion_track(speech, self.seed, self.expression);
        let settled = if self.finished {
            track.len()
        } else {
            (((speech.duration() - LOOKAHEAD) * FPS as f32).floor().max(0.0) as usize).min(track.len())
        };
        let ready = track.get(self.taken..settled).map(<[FaceMotion]>::to_vec).unwrap_or_default();
        self.taken += ready.len();
        ready
    }

    /// Every frame has been handed out.
    pub fn is_done(&self) -> bool {
        self.finished && self.speech.as_ref().is_none_or(|speech| self.taken >= frame_count(speech.duration()))
    }

    /// The speech so far.
    pub fn speech(&self) -> Option<&Speech> {
        self.speech.as_ref()
    }

    pub fn into_speech(self) -> Option<Speech> {
        self.speech
    }
}

/// The whole motion track for a piece of speech.
pub fn motion_track(speech: &Speech, seed: u64, expression: Expression) -> Vec<FaceMotion> {
    let lively = expression.liveliness;
    let spoken = Spoken::of(speech);
    let frames = spoken.mouth.len();
    let shapes: Vec<[f32; 3]> = spoken.mouth.iter().map(|&[jaw, width, round, ..]| [jaw, width, round]).collect();
    let blinks = at_quiet_moments(&blink_times(speech.duration() + 1.0, seed), &shapes);
    let fps = FPS as f32;
    let head = head::head_track(frames, fps, seed, lively, &spoken.cues);
    let gaze = gaze::gaze_track(frames, fps, seed);
    (0..frames)
        .map(|frame| {
            let t = frame as f32 / FPS as f32;
            let pose = head[frame];
            FaceMotion {
                blink: [blinks_at(&blinks, t); 2],
                gaze: gaze[frame],
                yaw: pose.yaw,
                pitch: pose.pitch,
                roll: pose.roll,
                shift: pose.shift,
                ..spoken.frame(frame, expression)
            }
        })
        .collect()
}

/// What speech moves, frame by frame: the mouth (jaw, width, round, tuck,
/// tongue), the brows, how far an open mouth of the photo is closed, and
/// the cues the head follows.
struct Spoken {
    mouth: Vec<[f32; 5]>,
    brows: Vec<f32>,
    close: Vec<f32>,
    cues: head::Cues,
}

impl Spoken {
    fn of(speech: &Speech) -> Spoken {
        let phonemes = &speech.phonemes;
        let frames = frame_count(speech.duration());
        let envelope = loudness(speech, frames);
        // A mouth the photo shows open closes in the moments before each sound
        // and, in a pause and after the last word, returns to the photo's own.
        let sounds: Vec<(f32, f32)> =
            phonemes.iter().filter(|p| p.viseme != Viseme::Rest).map(|p| (p.start, p.end)).collect();
        let closing = |t: f32| {
            let away =
                sounds.iter().map(|&(start, end)| (start - t).max(t - end).max(0.0)).fold(f32::INFINITY, f32::min);
            smooth((CLOSED_WITHIN + CLOSE_EASE - away) / CLOSE_EASE)
        };
        let mouth = (0..frames)
            .map(|frame| {
                // Average three instants across the frame so quick shapes still show.
                let t0 = frame as f32 / FPS as f32 + ANTICIPATION;
                let mut sum = [0.0f32; 6];
                for k in 0..3 {
                    let shape = mouth_at(phonemes, t0 + (k as f32 - 1.0) / (3.0 * FPS as f32));
                    for (s, v) in sum.iter_mut().zip(shape) {
                        *s += v / 3.0;
                    }
                }
                let [viseme_jaw, width, round, free, tuck, tongue] = sum;
                // Rounded lips open less: the mouth rounds into a small O.
                let jaw = ((1.0 - LOUDNESS_SHARE) * viseme_jaw + LOUDNESS_SHARE * envelope[frame] * JAW_AT_FULL_VOICE)
                    * free
                    * (1.0 - 0.45 * round.clamp(0.0, 1.0));
                [jaw, width, round, tuck, tongue]
            })
            .collect();
        let fps = FPS as f32;
        let cues = head::cues(speech, &envelope, fps);
        let brows = head::brow_track(frames, fps, &cues);
        let close = (0..frames)
            .map(|frame| {
                let t = frame as f32 / fps;
                closing(t).min(smooth(t / 0.12))
            })
            .collect();
        Spoken { mouth, brows, close, cues }
    }

    /// The speech's part of one frame; eyes and head at rest.
    fn frame(&self, frame: usize, expression: Expression) -> FaceMotion {
        let [jaw, width, round, tuck, tongue] = self.mouth[frame];
        // Everything eases in over the first frames, so the first frame is the photo itself.
        let ease = smooth(frame as f32 / 3.0);
        FaceMotion {
            jaw: jaw * ease,
            width: width * ease,
            round: round * ease,
            tuck: tuck * ease,
            tongue: tongue * ease,
            brows: self.brows[frame] * ease,
            // A smile eases a little while the mouth opens wide.
            smile: ease * expression.smile * (1.0 - 0.4 * jaw.min(1.0)),
            close: self.close[frame],
            ..FaceMotion::default()
        }
    }
}

/// Lid closure at `t` of blinks starting at `starts`.
fn blinks_at(starts: &[f32], t: f32) -> f32 {
    starts.iter().map(|&at| blink_shape(t - at)).fold(0.0, f32::max)
}

/// Seconds of speech before and after a frame whose loudness sets how far
/// that frame's voice opens the jaw: the level follows the voice (a
/// recording that grows louder or softer keeps its syllables apart) and
/// never depends on speech further ahead than `LOUDNESS_AHEAD`.
const LOUDNESS_BEHIND: f32 = 6.0;
const LOUDNESS_AHEAD: f32 = 1.5;

/// Loudness per frame (RMS over the frame's span of audio, taken
/// `ANTICIPATION` ahead), scaled so that loud speech around it reaches 1.
fn loudness(speech: &Speech, frames: usize) -> Vec<f32> {
    let rate = speech.sample_rate as f32;
    let rms: Vec<f32> = (0..frames)
        .map(|frame| {
            let start = ((frame as f32 / FPS as f32 + ANTICIPATION - 0.5 / FPS as f32) * rate).max(0.0) as usize;
            let end = (start + (rate / FPS as f32) as usize).min(speech.samples.len());
            let window = &speech.samples[start.min(end)..end];
            let power = window.iter().map(|&s| (f32::from(s) / 32768.0).powi(2)).sum::<f32>();
            (power / window.len().max(1) as f32).sqrt()
        })
        .collect();
    let (behind, ahead) = ((LOUDNESS_BEHIND * FPS as f32) as usize, (LOUDNESS_AHEAD * FPS as f32) as usize);
    let mut voiced = Vec::with_capacity(behind + ahead + 1);
    (0..frames)
        .map(|frame| {
            voiced.clear();
            voiced.extend(
                rms[frame.saturating_sub(behind)..(frame + ahead + 1).min(frames)].iter().filter(|&&v| v > 1e-4),
            );
            // The loudest tenth of the voice around the frame.
            let loud = if voiced.is_empty() {
                1.0
            } else {
                let at = voiced.len() * 9 / 10;
                *voiced.select_nth_unstable_by(at, f32::total_cmp).1
            };
            (rms[frame] / loud.max(1e-4)).min(1.0)
        })
        .collect()
}

/// The blended mouth shape at time `t`: jaw, width, round, how free the
/// lips are to part (0 while p, b, m press them shut), and how far the
/// lower lip is tucked under the upper teeth (f, v) and the tongue's tip
/// lifted to them (t, d, n, l, s, z, th).
fn mouth_at(phonemes: &[TimedPhoneme], t: f32) -> [f32; 6] {
    let mut sum = [0.0f32; 3];
    let mut total = 0.0f32;
    let mut press = 0.0f32;
    let mut tuck = 0.0f32;
    let mut tongue = 0.0f32;
    for p in phonemes {
        let centre = (p.start + p.end) / 2.0;
        let half = ((p.end - p.start) / 2.0).max(0.02);
        let distance = (t - centre).abs();
        if distance > half + 0.25 {
            continue;
        }
        let (shape, dominance) = target(p.viseme);
        let spread = half + 0.06;
        let weight = dominance * (-(distance / spread).powi(2)).exp();
        for (s, v) in sum.iter_mut().zip(shape) {
            *s += weight * v;
        }
        total += weight;
        if p.viseme == Viseme::Closed {
            // Full closure inside the consonant, easing in and out over 30 ms.
            let edge = (distance - half * 0.6) / 0.03;
            press = press.max((1.0 - edge).clamp(0.0, 1.0));
        }
        // The lip (f, v) or the tongue's tip (t, d, n, l, th) reaches the
        // teeth a little before the sound and leaves after it.
        let reach = (1.0 - (distance - half) / 0.05).clamp(0.0, 1.0);
        match p.viseme {
            Viseme::LipTeeth => tuck = tuck.max(reach),
            Viseme::Alveolar | Viseme::Dental => tongue = tongue.max(reach),
            _ => {}
        }
    }
    if total <= f32::EPSILON {
        return [0.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    }
    let [jaw, width, round] = sum.map(|s| s / total);
    [jaw, width, round, 1.0 - press, tuck, tongue]
}

/// Start times of blinks: every 2.5–5.5 s, the first within 0.5–2 s.
fn blink_times(until: f32, seed: u64) -> Vec<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut times = Vec::new();
    let mut t = rng.random_range(0.5..2.0);
    while t < until {
        times.push(t);
        t += rng.random_range(2.5..5.5);
    }
    times
}

/// How far a blink may move to land on a quieter moment, in seconds.
const BLINK_SHIFT: f32 = 0.6;

/// Moves each blink to the moment within `BLINK_SHIFT` of it where the
/// mouth moves least while the lids are down: people blink mostly in pauses
/// and between phrases, not in the middle of a wide-open vowel.
fn at_quiet_moments(starts: &[f32], mouth: &[[f32; 3]]) -> Vec<f32> {
    let fps = FPS as f32;
    // Past the end of the video a blink would not be seen: never quiet there.
    let activity = |frame: usize| mouth.get(frame).map_or(10.0, |&[jaw, width, round]| jaw + round + 0.5 * width.abs());
    // The lids are more than half shut for about 0.15 s from a blink's start.
    let shut = (0.15 * fps).round() as usize;
    starts
        .iter()
        .map(|&start| {
            let earliest = ((start - BLINK_SHIFT) * fps).round().max(0.3 * fps) as usize;
            let latest = ((start + BLINK_SHIFT) * fps).round().max(0.0) as usize;
            let cost = |frame: usize| {
                let busy: f32 = (frame..frame + shut).map(activity).sum();
                // Ties go to the planned moment.
                busy + 0.01 * (frame as f32 / fps - start).abs()
            };
            (earliest..=latest.max(earliest))
                .min_by(|&a, &b| cost(a).total_cmp(&cost(b)))
                .map_or(start, |frame| frame as f32 / fps)
        })
        .collect()
}

/// Lid closure `dt` seconds after a blink starts: 70 ms down, 50 ms shut,
/// 130 ms up (lids open more slowly than they close).
fn blink_shape(dt: f32) -> f32 {
    match dt {
        dt if !(0.0..0.25).contains(&dt) => 0.0,
        dt if dt < 0.07 => smooth(dt / 0.07),
        dt if dt < 0.12 => 1.0,
        dt => 1.0 - smooth((dt - 0.12) / 0.13),
    }
}

fn smooth(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phoneme(start: f32, end: f32, viseme: Viseme) -> TimedPhoneme {
        TimedPhoneme { start, end, phoneme: String::new(), viseme }
    }

    /// Speech with a tone wherever a phoneme other than rest is spoken.
    fn speech(phonemes: Vec<TimedPhoneme>, duration: f32) -> Speech {
        let rate = 16_000;
        let samples = (0..(duration * rate as f32) as usize)
            .map(|i| {
                let t = i as f32 / rate as f32;
                let voiced = phonemes.iter().any(|p| p.viseme != Viseme::Rest && p.start <= t && t < p.end);
                if voiced { (12_000.0 * (t * 200.0 * std::f32::consts::TAU).sin()) as i16 } else { 0 }
            })
            .collect();
        Speech { sample_rate: rate, samples, phonemes, words: Vec::new() }
    }

    #[test]
    fn frame_count_covers_the_audio() {
        assert_eq!(frame_count(1.0), 25);
        assert_eq!(frame_count(1.01), 26);
        assert_eq!(frame_count(0.0), 1);
    }

    #[test]
    fn open_vowel_opens_and_bilabial_closes() {
        let track = motion_track(
            &speech(
                vec![
                    phoneme(0.0, 0.2, Viseme::Rest),
                    phoneme(0.2, 0.4, Viseme::Open),
                    phoneme(0.4, 0.5, Viseme::Closed),
                    phoneme(0.5, 0.7, Viseme::Open),
                ],
                0.8,
            ),
            1,
            Expression::default(),
        );
        // The mouth leads the sound by ANTICIPATION.
        let at = |t: f32| track[((t - ANTICIPATION) * FPS as f32).round() as usize];
        assert!(at(0.3).jaw > 0.5, "open vowel: {:?}", at(0.3));
        assert!(at(0.45).jaw < 0.05, "lips shut on the m: {:?}", at(0.45));
        assert!(at(0.0).jaw < 0.1, "rest before speech");
        assert_eq!(track[0], FaceMotion::default(), "the first frame is the photo as it is");
        assert!(track[track.len() - 1].close > 0.99, "an open mouth is closed once speech starts");
    }

    #[test]
    fn shapes_change_smoothly() {
        let phonemes: Vec<_> = (0..20)
            .map(|i| {
                phoneme(i as f32 * 0.1, i as f32 * 0.1 + 0.1, if i % 2 == 0 { Viseme::Open } else { Viseme::Spread })
            })
            .collect();
        let track = motion_track(&speech(phonemes, 2.0), 7, Expression::default());
        let biggest_step = track.windows(2).map(|w| (w[1].jaw - w[0].jaw).abs()).fold(0.0, f32::max);
        let widest = track.iter().map(|m| m.jaw).fold(0.0, f32::max);
        // A syllable every 0.2 s opens and closes the jaw, but never all the way within one frame.
        assert!(biggest_step < 0.6 * widest, "jaw jumps by {biggest_step} of {widest} in one frame");
    }

    #[test]
    fn blinks_move_to_the_nearest_pause() {
        // Speaking with the mouth open, but for a pause from 1.2 s to 1.6 s.
        let mouth: Vec<[f32; 3]> =
            (0..100).map(|f| if (30..40).contains(&f) { [0.0; 3] } else { [0.6, 0.1, 0.3] }).collect();
        let moved = at_quiet_moments(&[1.0, 3.0], &mouth);
        let pause = 1.2..1.6;
        assert!(pause.contains(&moved[0]) && pause.contains(&(moved[0] + 0.12)), "blink at {}", moved[0]);
        // No pause within reach: the blink stays near its time.
        assert!((moved[1] - 3.0).abs() <= BLINK_SHIFT, "blink at {}", moved[1]);
        // Near the end it stays inside the video, however quiet the end is.
        let quiet_end: Vec<[f32; 3]> = (0..50).map(|f| if f < 45 { [0.6, 0.1, 0.3] } else { [0.0; 3] }).collect();
        let last = at_quiet_moments(&[1.95], &quiet_end)[0];
        assert!(last + 0.15 <= 2.0, "blink at {last} runs past the end");
    }

    #[test]
    fn motion_made_while_speech_arrives_equals_the_whole() {
        // Six "sentences" of varied sounds and pauses, one of them a question.
        let visemes = [Viseme::Open, Viseme::Closed, Viseme::Spread, Viseme::Rounded, Viseme::Mid, Viseme::LipTeeth];
        let sentences: Vec<Speech> = (0..6)
            .map(|k| {
                let mut phonemes: Vec<TimedPhoneme> = (0..8 + k)
                    .map(|i| {
                        let start = i as f32 * 0.13;
                        let mut p = phoneme(start, start + 0.13, visemes[(i + k) % visemes.len()]);
                        if i % 3 == 1 {
                            p.phoneme = "ˈa".into();
                        }
                        p
                    })
                    .collect();
                let end = phonemes.last().map_or(0.0, |p| p.end);
                let mut pause = phoneme(end, end + 0.4, Viseme::Rest);
                if k == 2 {
                    pause.phoneme = speech::QUESTION_PAUSE.into();
                }
                phonemes.push(pause);
                speech(phonemes, end + 0.4)
            })
            .collect();
        let mut whole = sentences[0].clone();
        for sentence in &sentences[1..] {
            whole.append(sentence.clone());
        }
        let expected = motion_track(&whole, 11, Expression::EXPRESSIVE);
        let mut stream = MotionStream::new(11, Expression::EXPRESSIVE);
        let mut streamed = Vec::new();
        for sentence in sentences {
            stream.push(sentence);
            let ready = stream.take_ready();
            let known = stream.speech().map_or(0.0, Speech::duration);
            assert!(streamed.len() + ready.len() <= frame_count((known - LOOKAHEAD).max(0.0)), "only settled frames");
            streamed.extend(ready);
            assert!(!stream.is_done());
        }
        assert!(!streamed.is_empty(), "frames come before the speech is complete");
        stream.finish();
        streamed.extend(stream.take_ready());
        assert!(stream.is_done());
        assert_eq!(streamed.len(), expected.len());
        for (frame, (a, b)) in streamed.iter().zip(&expected).enumerate() {
            assert_eq!(a, b, "frame {frame}");
        }
    }

    #[test]
    fn eyes_blink_every_few_seconds() {
        let track = motion_track(&speech(Vec::new(), 12.0), 42, Expression::default());
        let shut_frames = track.iter().filter(|m| m.blink[0] > 0.9).count();
        let blinks = track.windows(2).filter(|w| w[0].blink[0] <= 0.9 && w[1].blink[0] > 0.9).count();
        assert!((2..=5).contains(&blinks), "{blinks} blinks in 12 s");
        assert!(shut_frames >= blinks, "each blink is seen shut in at least one frame");
        assert_eq!(track, motion_track(&speech(Vec::new(), 12.0), 42, Expression::default()), "deterministic");
    }
}
