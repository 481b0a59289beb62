//! What a live face shows and says, one frame (40 ms) at a time: a queue
//! of utterances, each fed with speech as it arrives (whole sentences from
//! our voice, or the app's own audio in small chunks), played back to back
//! over the idle face. Pure: the session's clock calls [`Stage::tick`] and
//! gets the frame's motion, its 40 ms of sound and what happened.

use crate::resample::Resampler;
use animate::{Expression, FPS, FaceMotion, LiveMotion, Overlay};
use speech::Speech;
use std::collections::VecDeque;

/// The sound's sample rate on the way out (Opus's own).
pub const OUT_RATE: u32 = 48_000;
/// Samples of sound per video frame.
pub const SAMPLES_PER_FRAME: usize = (OUT_RATE / FPS) as usize;

/// Sound of the app's own voice held before an utterance starts, so the
/// mouth can read a little of what comes next: 60 ms.
const START_BUFFER: usize = SAMPLES_PER_FRAME * 3 / 2;
/// Frames over which an interrupted mouth eases back to rest (80 ms).
const INTERRUPT_FRAMES: usize = 2;

/// Something that happened in a tick, for the session to announce.
#[derive(Debug, Clone, PartialEq)]
pub enum StageEvent {
    Started(String),
    Ended(String),
}

/// Where an utterance's speech comes from, which decides how its motion is read.
#[derive(Debug)]
enum Source {
    /// Our voice: pieces carry their own phoneme timing.
    Voice(Option<Speech>),
    /// The app's audio: timing read from the sound, at its own rate.
    Audio { samples: Vec<i16>, rate: u32 },
}

#[derive(Debug)]
struct Utterance {
    event_id: String,
    source: Source,
    /// Sound at `OUT_RATE`, as far as it has come.
    sound: Vec<i16>,
    resampler: Option<Resampler>,
    overlay: Overlay,
    /// The overlay no longer matches the speech.
    stale: bool,
    /// Frames played.
    played: usize,
    started: bool,
    /// No more speech will come.
    complete: bool,
}

impl Utterance {
    fn frames_available(&self) -> usize {
        self.sound.len() / SAMPLES_PER_FRAME
    }
}

/// One frame's worth of a live face.
#[derive(Debug, Clone)]
pub struct Tick {
    pub motion: FaceMotion,
    /// `SAMPLES_PER_FRAME` samples at `OUT_RATE`.
    pub sound: Vec<i16>,
    pub events: Vec<StageEvent>,
    /// Whether speech is playing.
    pub speaking: bool,
}

/// The queue of utterances over the idle face.
#[derive(Debug)]
pub struct Stage {
    motion: LiveMotion,
    seed: u64,
    expression: Expression,
    frame: usize,
    queue: VecDeque<Utterance>,
    /// An interrupted utterance's last mouth and the frames it has left to ease out.
    fading: Option<(FaceMotion, usize)>,
}

impl Stage {
    pub fn new(seed: u64, expression: Expression) -> Stage {
        Stage {
            motion: LiveMotion::new(seed, expression),
            seed,
            expression,
            frame: 0,
            queue: VecDeque::new(),
            fading: None,
        }
    }

    /// Opens an utterance (queued behind any playing).
    pub fn open(&mut self, event_id: &str, from_voice: bool) {
        let source = if from_voice { Source::Voice(None) } else { Source::Audio { samples: Vec::new(), rate: 0 } };
        self.queue.push_back(Utterance {
            event_id: event_id.to_string(),
            source,
            sound: Vec::new(),
            resampler: None,
            overlay: Overlay::default(),
            stale: false,
            played: 0,
            started: false,
            complete: false,
        });
    }

    /// Whether an utterance with this id is queued or playing and still takes speech.
    pub fn is_open(&self, event_id: &str) -> bool {
        self.queue.iter().any(|u| u.event_id == event_id && !u.complete)
    }

    fn find(&mut self, event_id: &str) -> Option<&mut Utterance> {
        // The latest of that id, if several were sent.
        self.queue.iter_mut().rev().find(|u| u.event_id == event_id && !u.complete)
    }

    /// Appends a sentence of our voice.
    pub fn push_speech(&mut self, event_id: &str, mut piece: Speech) {
        let Some(utterance) = self.find(event_id) else { return };
        speech::audio::normalize_loudness(&mut piece.samples, piece.sample_rate);
        let resampler = utterance.resampler.get_or_insert_with(|| Resampler::new(piece.sample_rate, OUT_RATE));
        // Each sentence is whole: its sound is resampled to the end.
        let mut sound = resampler.push(&piece.samples);
        sound.extend(resampler.flush());
        append_exactly(&mut utterance.sound, sound, piece.duration());
        if let Source::Voice(speech) = &mut utterance.source {
            match speech {
                Some(speech) => speech.append(piece),
                None => *speech = Some(piece),
            }
        }
        utterance.stale = true;
    }

    /// Appends a chunk of the app's audio (mono samples at `rate`).
    pub fn push_audio(&mut self, event_id: &str, chunk: &[i16], rate: u32) {
        let Some(utterance) = self.find(event_id) else { return };
        let resampler = utterance.resampler.get_or_insert_with(|| Resampler::new(rate, OUT_RATE));
        let sound = resampler.push(chunk);
        utterance.sound.extend(sound);
        if let Source::Audio { samples, rate: source_rate } = &mut utterance.source {
            samples.extend_from_slice(chunk);
            *source_rate = rate;
        }
        utterance.stale = true;
    }

    /// No more speech comes for this utterance.
    pub fn close(&mut self, event_id: &str) {
        let Some(utterance) = self.find(event_id) else { return };
        if let Some(resampler) = utterance.resampler.as_mut() {
            let rest = resampler.flush();
            utterance.sound.extend(rest);
        }
        utterance.complete = true;
        utterance.stale = true;
    }

    /// Stops the sound at once, eases the mouth back to rest and drops
    /// every queued utterance; returns the ids that ended.
    pub fn interrupt(&mut self) -> Vec<String> {
        if let Some(current) = self.queue.front().filter(|u| u.started) {
            let last = current.overlay.get(current.played.saturating_sub(1)).copied().unwrap_or_default();
            self.fading = Some((last, INTERRUPT_FRAMES));
        }
        self.queue.drain(..).map(|u| u.event_id).collect()
    }

    /// Whether anything is playing or waiting to.
    pub fn busy(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The next frame.
    pub fn tick(&mut self) -> Tick {
        let mut events = Vec::new();
        let mut sound = vec![0i16; SAMPLES_PER_FRAME];
        let mut speaking = None;
        if let Some(current) = self.queue.front_mut() {
            if !current.started {
                let enough = match current.source {
                    Source::Voice(_) => current.sound.len() >= SAMPLES_PER_FRAME,
                    Source::Audio { .. } => current.sound.len() >= START_BUFFER,
                };
                if enough || (current.complete && !current.sound.is_empty()) {
                    current.started = true;
                    events.push(StageEvent::Started(current.event_id.clone()));
                }
            }
            if current.started && current.played < current.frames_available() {
                if current.stale {
                    current.overlay = match &current.source {
                        Source::Voice(Some(speech)) => Overlay::of(speech, self.seed, self.expression),
                        Source::Voice(None) => Overlay::default(),
                        Source::Audio { samples, rate } => {
                            Overlay::of(&Speech::from_audio(samples.clone(), *rate), self.seed, self.expression)
                        }
                    };
                    current.stale = false;
                }
                let at = current.played * SAMPLES_PER_FRAME;
                sound.copy_from_slice(&current.sound[at..at + SAMPLES_PER_FRAME]);
                speaking = Some(current.overlay.get(current.played).copied().unwrap_or_default());
                current.played += 1;
            } else if current.started && current.complete {
                // The last part of a frame of sound, then the end.
                let rest = &current.sound[(current.played * SAMPLES_PER_FRAME).min(current.sound.len())..];
                sound[..rest.len()].copy_from_slice(rest);
                events.push(StageEvent::Ended(current.event_id.clone()));
                self.queue.pop_front();
            } else if current.complete && current.sound.is_empty() {
                // Nothing was ever said.
                events.push(StageEvent::Started(current.event_id.clone()));
                events.push(StageEvent::Ended(current.event_id.clone()));
                self.queue.pop_front();
            }
        }
        let motion = match (speaking, self.fading.as_mut()) {
            (Some(spoken), _) => {
                self.fading = None;
                self.motion.frame(self.frame, Some((&spoken, 1.0)))
            }
            (None, Some((last, left))) => {
                let last = *last;
                let weight = *left as f32 / (INTERRUPT_FRAMES + 1) as f32;
                *left -= 1;
                if *left == 0 {
                    self.fading = None;
                }
                self.motion.frame(self.frame, Some((&last, weight)))
            }
            (None, None) => self.motion.frame(self.frame, None),
        };
        self.frame += 1;
        Tick { motion, sound, events, speaking: speaking.is_some() }
    }
}

/// Appends resampled sound so that the total stays exactly as long as the
/// speech it came from (resampling rounds each piece differently).
fn append_exactly(sound: &mut Vec<i16>, mut piece: Vec<i16>, seconds: f32) {
    let wanted = (seconds * OUT_RATE as f32).round() as usize;
    piece.resize(wanted, 0);
    sound.extend(piece);
}

#[cfg(test)]
mod tests {
    use super::*;
    use speech::{TimedPhoneme, Viseme};

    fn sentence(seconds: f32) -> Speech {
        let rate = 22_050;
        let samples = (0..(seconds * rate as f32) as usize)
            .map(|i| (8000.0 * (i as f32 * 220.0 * std::f32::consts::TAU / rate as f32).sin()) as i16)
            .collect();
        let phonemes = vec![TimedPhoneme { start: 0.0, end: seconds, phoneme: "a".into(), viseme: Viseme::Open }];
        Speech { sample_rate: rate, samples, phonemes, words: Vec::new() }
    }

    fn loud(sound: &[i16]) -> bool {
        sound.iter().any(|&s| s.unsigned_abs() > 1000)
    }

    #[test]
    fn sentences_play_back_to_back_and_end() {
        let mut stage = Stage::new(3, Expression::default());
        assert!(!stage.tick().speaking, "idle");
        stage.open("a", true);
        assert!(!stage.tick().speaking, "nothing to say yet");
        stage.push_speech("a", sentence(0.4));
        let first = stage.tick();
        assert_eq!(first.events, vec![StageEvent::Started("a".into())]);
        assert!(first.speaking);
        stage.push_speech("a", sentence(0.4));
        stage.close("a");
        let mut frames = 1;
        let mut opened = 0.0f32;
        loop {
            let tick = stage.tick();
            if tick.events.contains(&StageEvent::Ended("a".into())) {
                break;
            }
            assert!(loud(&tick.sound), "sound in frame {frames}");
            opened = opened.max(tick.motion.jaw);
            frames += 1;
            assert!(frames < 100);
        }
        assert_eq!(frames, 20, "0.8 s of speech is 20 frames");
        assert!(opened > 0.3, "the mouth opened: {opened}");
        assert!(!stage.busy());
    }

    #[test]
    fn an_interrupt_silences_at_once_and_eases_the_mouth() {
        let mut stage = Stage::new(3, Expression::default());
        stage.open("a", true);
        stage.push_speech("a", sentence(2.0));
        stage.open("b", true);
        for _ in 0..10 {
            stage.tick();
        }
        assert_eq!(stage.interrupt(), vec!["a".to_string(), "b".to_string()]);
        let ticks: Vec<Tick> = (0..4).map(|_| stage.tick()).collect();
        assert!(ticks.iter().all(|t| !loud(&t.sound) && !t.speaking), "silent from the next frame");
        assert!(ticks[0].motion.jaw > ticks[1].motion.jaw || ticks[0].motion.jaw == 0.0);
        assert_eq!(ticks[2].motion.jaw, 0.0, "at rest within 80 ms");
        assert!(!stage.busy());
    }

    #[test]
    fn app_audio_starts_after_a_short_buffer_and_waits_when_it_runs_dry() {
        let mut stage = Stage::new(3, Expression::default());
        stage.open("x", false);
        let chunk: Vec<i16> =
            (0..960).map(|i| (8000.0 * (i as f32 * 200.0 * std::f32::consts::TAU / 24_000.0).sin()) as i16).collect();
        stage.push_audio("x", &chunk, 24_000);
        assert!(!stage.tick().speaking, "40 ms is not enough to start");
        stage.push_audio("x", &chunk, 24_000);
        let tick = stage.tick();
        assert_eq!(tick.events, vec![StageEvent::Started("x".into())]);
        assert!(loud(&tick.sound));
        let mut played = 1;
        while stage.tick().speaking {
            played += 1;
        }
        assert!(played <= 2, "no more than was sent");
        stage.push_audio("x", &chunk, 24_000);
        stage.close("x");
        let events: Vec<StageEvent> = (0..5).flat_map(|_| stage.tick().events).collect();
        assert_eq!(events, vec![StageEvent::Ended("x".into())]);
    }
}
