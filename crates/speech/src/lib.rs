//! Speech: text and a voice in, PCM audio plus a timed phoneme and word
//! list out.
//!
//! Two engines speak. The default English voice is neural (Piper's VITS
//! model run by ONNX Runtime, see [`neural`]), timed by the phoneme
//! durations the model predicts. Every other language is espeak-ng, linked
//! as a library and run in synchronous mode, whose callback events carry the
//! audio position of every phoneme and word; espeak-ng is also the neural
//! voice's phonemizer. Phonemes are mapped to [`Viseme`]s (mouth shapes),
//! which is all the motion stage needs to know about the sound: it never
//! learns which engine spoke.

mod analysis;
pub mod audio;
pub mod captions;
mod espeak;
pub mod neural;
mod viseme;
mod voices;

pub use viseme::Viseme;
pub use voices::{DEFAULT_VOICE_ID, Engine, Gender, Voice, find_voice, voices};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Sample rate of silence made without a voice (espeak-ng's own rate).
pub const SILENCE_SAMPLE_RATE: u32 = 22_050;

/// HeyGen's limit on `input_text`.
pub const MAX_TEXT_CHARS: usize = 5000;

#[derive(Debug, Error)]
pub enum SpeechError {
    #[error("unknown voice_id '{0}'; GET /v2/voices (or `mouthpiece voices`) lists the voices")]
    UnknownVoice(String),
    #[error("the text is empty; give at least one word to speak")]
    EmptyText,
    #[error("the text has {chars} characters; at most {max} are accepted", max = MAX_TEXT_CHARS)]
    TextTooLong { chars: usize },
    #[error("{0}")]
    Option(String),
    #[error("speech engine failed: {0}")]
    Engine(String),
}

/// The name of the pause after a question ("?"); other pauses are "_".
pub const QUESTION_PAUSE: &str = "_?";

/// One phoneme with its time span in seconds from the start of the audio.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimedPhoneme {
    pub start: f32,
    pub end: f32,
    /// IPA, as espeak-ng names it.
    pub phoneme: String,
    pub viseme: Viseme,
}

/// One word of the input text with the time it starts being spoken.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimedWord {
    pub start: f32,
    pub end: f32,
    pub text: String,
}

/// Synthesised speech: mono 16-bit PCM and its timing. Serialisable, so a
/// service can keep it between attempts at a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Speech {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
    pub phonemes: Vec<TimedPhoneme>,
    pub words: Vec<TimedWord>,
}

impl Speech {
    /// `seconds` of silence: HeyGen's voice type "silence", and the pauses of `<break>`.
    pub fn silence(seconds: f32, sample_rate: u32) -> Speech {
        let samples = vec![0; (seconds.max(0.0) * sample_rate as f32).round() as usize];
        let end = samples.len() as f32 / sample_rate as f32;
        let phonemes = if end > 0.0 {
            vec![TimedPhoneme { start: 0.0, end, phoneme: "_".into(), viseme: Viseme::Rest }]
        } else {
            Vec::new()
        };
        Speech { sample_rate, samples, phonemes, words: Vec::new() }
    }

    /// Appends `other` (same sample rate), shifting its timings.
    pub fn append(&mut self, mut other: Speech) {
        let offset = self.duration();
        other.retime(|t| t + offset);
        self.samples.extend(other.samples);
        self.phonemes.extend(other.phonemes);
        self.words.extend(other.words);
    }

    /// Moves every phoneme and word boundary through `time`.
    pub(crate) fn retime(&mut self, time: impl Fn(f32) -> f32) {
        for phoneme in &mut self.phonemes {
            (phoneme.start, phoneme.end) = (time(phoneme.start), time(phoneme.end));
        }
        for word in &mut self.words {
            (word.start, word.end) = (time(word.start), time(word.end));
        }
    }

    /// Length of the audio in seconds.
    pub fn duration(&self) -> f32 {
        self.samples.len() as f32 / self.sample_rate as f32
    }
}

/// Checks the text against the API's limits, and its `<break>` tags,
/// before any work is done.
pub fn validate_text(text: &str) -> Result<(), SpeechError> {
    let chars = text.chars().count();
    let spoken: String = split_breaks(text)?.iter().map(|(piece, _)| *piece).collect();
    if spoken.trim().is_empty() {
        Err(SpeechError::EmptyText)
    } else if chars > MAX_TEXT_CHARS {
        Err(SpeechError::TextTooLong { chars })
    } else {
        Ok(())
    }
}

/// Turns a list of start times into spans: each item ends where the next
/// begins, the last at the end of the audio.
fn spans<T>(starts: &[(f32, T)], duration: f32) -> impl Iterator<Item = (f32, f32, &T)> {
    starts.iter().enumerate().map(move |(i, (start, item))| {
        let end = starts.get(i + 1).map_or(duration, |next| next.0).max(*start);
        (*start, end, item)
    })
}

/// HeyGen's voice options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeechOptions {
    /// 0.5 to 1.5 times the normal rate.
    pub speed: f32,
    /// −50 to 50 steps from the voice's own pitch (50 steps are half an octave).
    pub pitch: f32,
    /// The delivery, for voices with `emotion_support`.
    pub emotion: Option<Emotion>,
}

impl Default for SpeechOptions {
    fn default() -> Self {
        SpeechOptions { speed: 1.0, pitch: 0.0, emotion: None }
    }
}

/// HeyGen's voice emotions (serialised under HeyGen's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Emotion {
    Excited,
    Friendly,
    Serious,
    Soothing,
    Broadcaster,
}

/// How an emotion changes the neural voice's delivery: pace and pitch, and
/// the model's two noise scales, which set how much the phoneme lengths
/// (`variation`) and the intonation and timbre (`expressiveness`) vary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Delivery {
    pub pace: f32,
    pub pitch: f32,
    pub variation: f32,
    pub expressiveness: f32,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery { pace: 1.0, pitch: 0.0, variation: 1.0, expressiveness: 1.0 }
    }
}

impl Emotion {
    pub const NAMES: [&'static str; 5] = ["Excited", "Friendly", "Serious", "Soothing", "Broadcaster"];

    /// Reads HeyGen's name of an emotion (any case).
    pub fn parse(name: &str) -> Result<Emotion, SpeechError> {
        let emotion = match name.to_ascii_lowercase().as_str() {
            "excited" => Emotion::Excited,
            "friendly" => Emotion::Friendly,
            "serious" => Emotion::Serious,
            "soothing" => Emotion::Soothing,
            "broadcaster" => Emotion::Broadcaster,
            _ => {
                return Err(SpeechError::Option(format!(
                    "emotion '{name}' is not one of {}",
                    Emotion::NAMES.join(", ")
                )));
            }
        };
        Ok(emotion)
    }

    /// Chosen by ear: excitement is quicker, higher and livelier; soothing
    /// is slow, low and even; a broadcaster is brisk and steady.
    pub(crate) fn delivery(self) -> Delivery {
        let (pace, pitch, variation, expressiveness) = match self {
            Emotion::Excited => (1.12, 8.0, 1.3, 1.2),
            Emotion::Friendly => (1.04, 4.0, 1.1, 1.1),
            Emotion::Serious => (0.94, -6.0, 0.8, 0.85),
            Emotion::Soothing => (0.85, -5.0, 0.6, 0.8),
            Emotion::Broadcaster => (1.06, -2.0, 0.7, 0.9),
        };
        Delivery { pace, pitch, variation, expressiveness }
    }
}

impl SpeechOptions {
    pub fn validate(&self) -> Result<(), SpeechError> {
        if !(0.5..=1.5).contains(&self.speed) {
            return Err(SpeechError::Option(format!("speed is {}; give a number from 0.5 to 1.5", self.speed)));
        }
        if !(-50.0..=50.0).contains(&self.pitch) {
            return Err(SpeechError::Option(format!("pitch is {}; give a number from -50 to 50", self.pitch)));
        }
        Ok(())
    }
}

/// The longest pause one `<break>` may ask for, in seconds.
pub const MAX_BREAK: f32 = 10.0;

/// Pieces of text between `<break time="…"/>` tags, each with the pause
/// that follows it.
fn split_breaks(text: &str) -> Result<Vec<(&str, f32)>, SpeechError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<break") {
        let end = rest[start..].find("/>").map(|e| start + e + 2).ok_or_else(|| {
            SpeechError::Option("a <break> tag is not closed; write it as <break time=\"1s\"/>".into())
        })?;
        let tag = &rest[start..end];
        let time = tag
            .split_once("time=")
            .map(|(_, v)| v.trim_start_matches(['"', '\'']).split(['"', '\'']).next().unwrap_or(""))
            .ok_or_else(|| SpeechError::Option(format!("{tag} has no time; write <break time=\"1.5s\"/>")))?;
        let seconds = match (time.strip_suffix("ms"), time.strip_suffix('s')) {
            (Some(ms), _) => ms.trim().parse::<f32>().map(|v| v / 1000.0),
            (None, Some(s)) => s.trim().parse::<f32>(),
            _ => time.trim().parse::<f32>(),
        }
        .map_err(|_| SpeechError::Option(format!("break time '{time}' is not a duration like 1.5s or 500ms")))?;
        if !(0.0..=MAX_BREAK).contains(&seconds) {
            return Err(SpeechError::Option(format!("break time {seconds}s is outside 0–{MAX_BREAK}s")));
        }
        pieces.push((&rest[..start], seconds));
        rest = &rest[end..];
    }
    pieces.push((rest, 0.0));
    Ok(pieces)
}

/// Speaks `text` with the voice `voice_id`. `<break time="1s"/>` tags in
/// the text become pauses with the mouth at rest.
pub fn synthesize(text: &str, voice_id: &str, options: SpeechOptions) -> Result<Speech, SpeechError> {
    let mut speech: Option<Speech> = None;
    synthesize_each(text, voice_id, options, &mut |piece| {
        match speech.as_mut() {
            Some(all) => all.append(piece),
            None => speech = Some(piece),
        }
        Ok(())
    })?;
    speech.ok_or(SpeechError::EmptyText)
}

/// Speaks `text` piece by piece, handing each piece to `each` as soon as it
/// is made: a sentence of the neural voice, a stretch between `<break>`
/// tags of an espeak-ng voice, a pause. Played one after another, the
/// pieces are the whole speech; a caller can start on the first while the
/// rest is still being spoken.
pub fn synthesize_each(
    text: &str,
    voice_id: &str,
    options: SpeechOptions,
    each: &mut dyn FnMut(Speech) -> Result<(), SpeechError>,
) -> Result<(), SpeechError> {
    validate_text(text)?;
    options.validate()?;
    let voice = find_voice(voice_id).ok_or_else(|| SpeechError::UnknownVoice(voice_id.to_string()))?;
    voice.check_options(&options)?;
    // A pause is handed on with the piece after it, whose sample rate it takes.
    let mut pause = 0.0f32;
    let mut sample_rate = None;
    let mut sounded = false;
    for (piece, pause_after) in split_breaks(text)? {
        if !piece.trim().is_empty() {
            let mut spoken = |part: Speech| {
                if pause > 0.0 {
                    each(Speech::silence(pause, part.sample_rate))?;
                    pause = 0.0;
                }
                sample_rate = Some(part.sample_rate);
                sounded |= !part.samples.is_empty();
                each(part)
            };
            match &voice.engine {
                Engine::Neural => neural::voice()?.speak_each(piece, options, &mut spoken)?,
                Engine::Espeak(name) => {
                    spoken(espeak::speak(piece, name, options.speed, options.pitch.round() as i32)?)?
                }
            }
        }
        pause += pause_after;
    }
    let sample_rate = sample_rate.filter(|_| sounded).ok_or(SpeechError::EmptyText)?;
    if pause > 0.0 {
        each(Speech::silence(pause, sample_rate))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_sentence_has_audio_and_ordered_timing() {
        let speech =
            synthesize("Hello world, my mouth moves.", DEFAULT_VOICE_ID, SpeechOptions::default()).expect("speak");
        assert_eq!(speech.sample_rate, 22050);
        assert!(speech.duration() > 1.0 && speech.duration() < 5.0, "duration {}", speech.duration());
        let peak = speech.samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!(peak > 3000, "audible, peak {peak}");
        assert!(speech.phonemes.len() > 15, "{:?}", speech.phonemes);
        assert!(speech.phonemes.windows(2).all(|w| w[0].start <= w[1].start));
        assert!(speech.phonemes.iter().any(|p| p.viseme == Viseme::Closed), "m of 'my' and 'moves' closes the lips");
        let words: Vec<&str> = speech.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(words, ["Hello", "world", "my", "mouth", "moves"]);
        assert!(speech.words.iter().all(|w| w.end <= speech.duration() + 1e-3));
    }

    #[test]
    fn every_catalogue_voice_speaks() {
        for voice in voices() {
            let speech = synthesize("1 2 3 4 5", &voice.voice_id, SpeechOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", voice.voice_id));
            // Five short words: more than half a second, less than six.
            assert!((0.5..6.0).contains(&speech.duration()), "{}: {} s", voice.voice_id, speech.duration());
            let peak = speech.samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            assert!(peak > 2000, "{} is audible: peak {peak}", voice.voice_id);
            assert!(speech.phonemes.iter().any(|p| p.viseme != Viseme::Rest), "{}", voice.voice_id);
        }
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(matches!(synthesize("hi", "nope", SpeechOptions::default()), Err(SpeechError::UnknownVoice(_))));
        assert!(matches!(synthesize("  ", DEFAULT_VOICE_ID, SpeechOptions::default()), Err(SpeechError::EmptyText)));
        let long = "a".repeat(MAX_TEXT_CHARS + 1);
        assert!(matches!(
            synthesize(&long, DEFAULT_VOICE_ID, SpeechOptions::default()),
            Err(SpeechError::TextTooLong { chars: 5001 })
        ));
    }

    #[test]
    fn breaks_add_silence_with_the_mouth_at_rest() {
        let plain = synthesize("Wait for it. Now.", DEFAULT_VOICE_ID, SpeechOptions::default()).expect("speak");
        let paused = synthesize("Wait for it. <break time=\"1s\"/> Now.", DEFAULT_VOICE_ID, SpeechOptions::default())
            .expect("speak");
        let added = paused.duration() - plain.duration();
        println!("a 1 s break added {added:.3} s");
        // The break replaces the short pause espeak-ng makes between the sentences.
        assert!((0.7..1.3).contains(&added), "a 1 s break adds {added} s");
        // Somewhere in the middle there is a rest of at least a second, in the timings and in the audio.
        let rest =
            paused.phonemes.iter().filter(|p| p.viseme == Viseme::Rest).map(|p| p.end - p.start).fold(0.0, f32::max);
        assert!(rest >= 0.95, "longest rest {rest} s");
        assert!(paused.phonemes.windows(2).all(|w| (w[1].start - w[0].end).abs() < 1e-3), "no gaps or overlaps");
        let words: Vec<&str> = paused.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(words, ["Wait", "for", "it", "Now"]);
        assert!(paused.words[3].start > 1.5, "the word after the break starts after it");
        let ms = synthesize("Go <break time='500ms'/> on", DEFAULT_VOICE_ID, SpeechOptions::default()).expect("ms");
        assert!(ms.duration() > 0.8);
    }

    #[test]
    fn speed_and_pitch_change_the_voice() {
        // espeak-ng: its parameters persist between calls, which is checked last.
        // (The neural voice's options: tests/timing.rs.)
        const ESPEAK_VOICE: &str = "en-us-female";
        let text = "The quick brown fox jumps over the lazy dog.";
        let normal = synthesize(text, ESPEAK_VOICE, SpeechOptions::default()).expect("normal");
        let fast = synthesize(text, ESPEAK_VOICE, SpeechOptions { speed: 1.5, ..Default::default() }).expect("fast");
        let slow = synthesize(text, ESPEAK_VOICE, SpeechOptions { speed: 0.5, ..Default::default() }).expect("slow");
        assert!(fast.duration() < 0.8 * normal.duration(), "{} vs {}", fast.duration(), normal.duration());
        assert!(slow.duration() > 1.4 * normal.duration(), "{} vs {}", slow.duration(), normal.duration());
        let high = synthesize(text, ESPEAK_VOICE, SpeechOptions { pitch: 40.0, ..Default::default() }).expect("high");
        assert!(high.samples != normal.samples, "pitch changes the sound");
        let again = synthesize(text, ESPEAK_VOICE, SpeechOptions::default()).expect("again");
        // espeak-ng keeps parameters between calls; ours are set on every call.
        let drift = (again.duration() - normal.duration()).abs() / normal.duration();
        assert!(drift < 0.02, "options do not leak into the next call ({drift})");
    }

    #[test]
    fn emotions_keep_heygens_names() {
        for name in Emotion::NAMES {
            let emotion = Emotion::parse(&name.to_lowercase()).expect(name);
            assert_eq!(serde_json::to_value(emotion).ok(), Some(serde_json::Value::from(name)));
        }
        assert!(Emotion::parse("grumpy").is_err());
    }

    #[test]
    fn bad_options_and_breaks_are_refused() {
        for options in
            [SpeechOptions { speed: 1.6, ..Default::default() }, SpeechOptions { pitch: -51.0, ..Default::default() }]
        {
            assert!(matches!(synthesize("hi", DEFAULT_VOICE_ID, options), Err(SpeechError::Option(_))));
        }
        for text in ["a <break time=\"1s\"", "a <break/> b", "a <break time=\"soon\"/> b", "a <break time=\"11s\"/> b"]
        {
            let result = synthesize(text, DEFAULT_VOICE_ID, SpeechOptions::default());
            assert!(matches!(result, Err(SpeechError::Option(_))), "{text}: {result:?}");
        }
    }
}
