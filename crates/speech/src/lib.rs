//! Speech: text and a voice in, PCM audio plus a timed phoneme and word
//! list out.
//!
//! The engine is espeak-ng, linked as a library and run in synchronous
//! mode, whose callback events carry the audio position of every phoneme and
//! word. Phonemes are mapped to [`Viseme`]s (mouth shapes), which is all the
//! motion stage needs to know about the sound.

mod espeak;
mod viseme;
mod voices;

pub use viseme::Viseme;
pub use voices::{DEFAULT_VOICE_ID, Gender, Voice, find_voice, voices};

use serde::Serialize;
use thiserror::Error;

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
    #[error("speech engine failed: {0}")]
    Engine(String),
}

/// One phoneme with its time span in seconds from the start of the audio.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimedPhoneme {
    pub start: f32,
    pub end: f32,
    /// IPA, as espeak-ng names it.
    pub phoneme: String,
    pub viseme: Viseme,
}

/// One word of the input text with the time it starts being spoken.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimedWord {
    pub start: f32,
    pub end: f32,
    pub text: String,
}

/// Synthesised speech: mono 16-bit PCM and its timing.
#[derive(Debug, Clone)]
pub struct Speech {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
    pub phonemes: Vec<TimedPhoneme>,
    pub words: Vec<TimedWord>,
}

impl Speech {
    /// Length of the audio in seconds.
    pub fn duration(&self) -> f32 {
        self.samples.len() as f32 / self.sample_rate as f32
    }
}

/// Checks the text against the API's limits before any work is done.
pub fn validate_text(text: &str) -> Result<(), SpeechError> {
    let chars = text.chars().count();
    if text.trim().is_empty() {
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

/// Speaks `text` with the voice `voice_id`.
pub fn synthesize(text: &str, voice_id: &str) -> Result<Speech, SpeechError> {
    validate_text(text)?;
    let voice = find_voice(voice_id).ok_or_else(|| SpeechError::UnknownVoice(voice_id.to_string()))?;
    let raw = espeak::speak(text, voice)?;
    let duration = raw.samples.len() as f32 / raw.sample_rate as f32;
    let phonemes = spans(&raw.phonemes, duration)
        .map(|(start, end, name)| TimedPhoneme { start, end, phoneme: name.clone(), viseme: Viseme::from_ipa(name) })
        .collect();
    let words =
        spans(&raw.words, duration).map(|(start, end, text)| TimedWord { start, end, text: text.clone() }).collect();
    Ok(Speech { sample_rate: raw.sample_rate, samples: raw.samples, phonemes, words })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_sentence_has_audio_and_ordered_timing() {
        let speech = synthesize("Hello world, my mouth moves.", DEFAULT_VOICE_ID).expect("speak");
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
            let speech = synthesize("1 2 3 4 5", &voice.voice_id).unwrap_or_else(|e| panic!("{}: {e}", voice.voice_id));
            assert!(speech.duration() > 0.5, "{}", voice.voice_id);
            assert!(!speech.phonemes.is_empty(), "{}", voice.voice_id);
        }
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(matches!(synthesize("hi", "nope"), Err(SpeechError::UnknownVoice(_))));
        assert!(matches!(synthesize("  ", DEFAULT_VOICE_ID), Err(SpeechError::EmptyText)));
        let long = "a".repeat(MAX_TEXT_CHARS + 1);
        assert!(matches!(synthesize(&long, DEFAULT_VOICE_ID), Err(SpeechError::TextTooLong { chars: 5001 })));
    }
}
