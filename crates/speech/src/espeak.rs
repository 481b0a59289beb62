//! A small FFI binding to libespeak-ng: just what synchronous synthesis with
//! phoneme and word events needs, and its text-to-IPA conversion, which is
//! the phonemizer of the neural voice.
//!
//! espeak-ng keeps global state and is not thread-safe, so every call goes
//! through one process-wide lock. In synchronous mode the synthesis callback
//! runs on the calling thread, inside `espeak_Synth`, which is what lets the
//! callback write into a thread-local collector.

use crate::{Speech, SpeechError, TimedPhoneme, TimedWord, Viseme, spans};
use std::cell::RefCell;
use std::ffi::{CString, c_char, c_int, c_short, c_uint, c_void};
use std::sync::Mutex;

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const INITIALIZE_PHONEME_EVENTS: c_int = 0x0001;
const INITIALIZE_PHONEME_IPA: c_int = 0x0002;
const INITIALIZE_DONT_EXIT: c_int = 0x8000;
const CHARS_UTF8: c_uint = 1;
const POS_CHARACTER: c_int = 1;
const EE_OK: c_int = 0;
const PARAMETER_RATE: c_int = 1;
const PARAMETER_PITCH: c_int = 3;
/// espeak-ng's own defaults: words per minute and pitch (0–100).
const DEFAULT_RATE: f32 = 175.0;
const DEFAULT_PITCH: i32 = 50;

const EVENT_LIST_TERMINATED: c_int = 0;
const EVENT_WORD: c_int = 1;
const EVENT_PHONEME: c_int = 7;

#[repr(C)]
union EventId {
    number: c_int,
    name: *const c_char,
    string: [c_char; 8],
}

#[repr(C)]
struct Event {
    kind: c_int,
    unique_identifier: c_uint,
    text_position: c_int,
    length: c_int,
    audio_position: c_int,
    sample: c_int,
    user_data: *mut c_void,
    id: EventId,
}

type SynthCallback = unsafe extern "C" fn(*mut c_short, c_int, *mut Event) -> c_int;

#[link(name = "espeak-ng")]
unsafe extern "C" {
    fn espeak_Initialize(output: c_int, buflength: c_int, path: *const c_char, options: c_int) -> c_int;
    fn espeak_SetSynthCallback(callback: SynthCallback);
    fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
    fn espeak_Synth(
        text: *const c_void,
        size: usize,
        position: c_uint,
        position_type: c_int,
        end_position: c_uint,
        flags: c_uint,
        unique_identifier: *mut c_uint,
        user_data: *mut c_void,
    ) -> c_int;
    fn espeak_Synchronize() -> c_int;
    fn espeak_SetParameter(parameter: c_int, value: c_int, relative: c_int) -> c_int;
    fn espeak_TextToPhonemes(textptr: *mut *const c_void, textmode: c_int, phonememode: c_int) -> *const c_char;
}

/// `phonememode` bit of espeak_TextToPhonemes: IPA rather than espeak-ng's ASCII names.
const PHONEMES_IPA: c_int = 0x02;

#[derive(Default)]
struct Collector {
    samples: Vec<i16>,
    phonemes: Vec<(c_int, String)>,
    words: Vec<(c_int, usize, usize)>,
}

thread_local! {
    static COLLECTOR: RefCell<Collector> = RefCell::new(Collector::default());
}

/// The engine's sample rate once initialised; the lock serialises all use.
static ENGINE: Mutex<Option<u32>> = Mutex::new(None);

unsafe extern "C" fn on_synth(wav: *mut c_short, count: c_int, events: *mut Event) -> c_int {
    COLLECTOR.with(|collector| {
        let mut collector = collector.borrow_mut();
        if !wav.is_null() && count > 0 {
            // SAFETY: espeak-ng hands us `count` valid samples at `wav`.
            let chunk = unsafe { std::slice::from_raw_parts(wav, count as usize) };
            collector.samples.extend_from_slice(chunk);
        }
        let mut event = events;
        // SAFETY: the event list is terminated by an EVENT_LIST_TERMINATED entry.
        while !event.is_null() && unsafe { (*event).kind } != EVENT_LIST_TERMINATED {
            let e = unsafe { &*event };
            match e.kind {
                EVENT_PHONEME => {
                    // SAFETY: phoneme events fill `string`, zero-terminated unless all 8 bytes are used.
                    let bytes = unsafe { e.id.string }.map(|c| c as u8);
                    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                    let name = String::from_utf8_lossy(&bytes[..end]).into_owned();
                    collector.phonemes.push((e.audio_position, name));
                }
                EVENT_WORD => {
                    collector.words.push((
                        e.audio_position,
                        e.text_position.max(1) as usize - 1,
                        e.length.max(0) as usize,
                    ));
                }
                _ => {}
            }
            event = unsafe { event.add(1) };
        }
    });
    0
}

/// Locks the engine, starting it on first use; returns the lock and the
/// engine's sample rate.
fn engine() -> Result<(std::sync::MutexGuard<'static, Option<u32>>, u32), SpeechError> {
    let mut engine = ENGINE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(rate) = *engine {
        return Ok((engine, rate));
    }
    let options = INITIALIZE_PHONEME_EVENTS | INITIALIZE_PHONEME_IPA | INITIALIZE_DONT_EXIT;
    // SAFETY: a null path means the default data directory.
    let rate = unsafe { espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, std::ptr::null(), options) };
    if rate <= 0 {
        return Err(SpeechError::Engine("espeak-ng could not start; is the espeak-ng-data package installed?".into()));
    }
    unsafe { espeak_SetSynthCallback(on_synth) };
    *engine = Some(rate as u32);
    Ok((engine, rate as u32))
}

fn set_voice(espeak_name: &str) -> Result<(), SpeechError> {
    let name = CString::new(espeak_name).map_err(|e| SpeechError::Engine(e.to_string()))?;
    if unsafe { espeak_SetVoiceByName(name.as_ptr()) } != EE_OK {
        return Err(SpeechError::Engine(format!("espeak-ng has no voice '{espeak_name}'")));
    }
    Ok(())
}

/// Interior NULs would end the text early; spaces read the same.
fn c_text(text: &str) -> Result<(String, CString), SpeechError> {
    let clean: String = text.chars().map(|c| if c == '\0' { ' ' } else { c }).collect();
    let c_text = CString::new(clean.as_str()).map_err(|e| SpeechError::Engine(e.to_string()))?;
    Ok((clean, c_text))
}

/// One clause of text as espeak-ng reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause {
    /// The written words of the clause.
    pub text: String,
    /// IPA with stress and length marks, words separated by spaces.
    pub phonemes: String,
    /// The punctuation that ends the clause, if any.
    pub terminator: Option<char>,
}

/// Converts text to IPA clause by clause, with espeak-ng's own number,
/// abbreviation and punctuation rules of the language `espeak_voice`.
pub(crate) fn phonemize(text: &str, espeak_voice: &str) -> Result<Vec<Clause>, SpeechError> {
    let (engine, _) = engine()?;
    set_voice(espeak_voice)?;
    let (clean, c_text) = c_text(text)?;
    let base = c_text.as_ptr();
    let mut position: *const c_void = base.cast();
    let mut clauses = Vec::new();
    let mut start = 0;
    while !position.is_null() {
        let before = position;
        // SAFETY: `position` points into `c_text`, which outlives the loop; espeak-ng
        // advances it past the clause or sets it to null at the end of the text.
        let ipa = unsafe { espeak_TextToPhonemes(&mut position, CHARS_UTF8 as c_int, PHONEMES_IPA) };
        if ipa.is_null() || position == before {
            break;
        }
        // espeak-ng reads one character past the clause to find where it ends.
        let end = if position.is_null() {
            clean.len()
        } else {
            let read = (position as usize - base as usize).min(clean.len());
            clean[..read].char_indices().next_back().map_or(read, |(last, _)| last).max(start)
        };
        // SAFETY: espeak-ng returns a zero-terminated string that stays valid until the next call.
        let ipa = unsafe { std::ffi::CStr::from_ptr(ipa) }.to_string_lossy().into_owned();
        let written = clean[start..end].trim().to_string();
        let terminator = written.chars().last().filter(|c| matches!(c, '.' | ',' | '!' | '?' | ';' | ':'));
        clauses.push(Clause { text: written, phonemes: without_language_flags(&ipa), terminator });
        start = end;
    }
    drop(engine);
    Ok(clauses)
}

/// Removes espeak-ng's language switch marks, "(en)" around a foreign word.
fn without_language_flags(ipa: &str) -> String {
    let mut out = String::with_capacity(ipa.len());
    let mut depth = 0usize;
    for c in ipa.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// Speaks `text` with `voice` at `speed` × the normal rate and `pitch`
/// steps (−50…50) from the voice's own, collecting samples and events.
pub(crate) fn speak(text: &str, espeak_name: &str, speed: f32, pitch: i32) -> Result<Speech, SpeechError> {
    let (engine, sample_rate) = engine()?;
    set_voice(espeak_name)?;
    // Set every time: espeak-ng keeps parameters between calls.
    unsafe {
        espeak_SetParameter(PARAMETER_RATE, (DEFAULT_RATE * speed).round() as c_int, 0);
        espeak_SetParameter(PARAMETER_PITCH, (DEFAULT_PITCH + pitch).clamp(0, 100), 0);
    }
    let (clean, c_text) = c_text(text)?;
    COLLECTOR.with(|c| *c.borrow_mut() = Collector::default());
    let status = unsafe {
        espeak_Synth(
            c_text.as_ptr().cast(),
            c_text.as_bytes_with_nul().len(),
            0,
            POS_CHARACTER,
            0,
            CHARS_UTF8,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    unsafe { espeak_Synchronize() };
    let collected = COLLECTOR.with(|c| std::mem::take(&mut *c.borrow_mut()));
    drop(engine);
    if status != EE_OK {
        return Err(SpeechError::Engine(format!("espeak-ng synthesis failed with status {status}")));
    }
    let seconds = |ms: c_int| ms.max(0) as f32 / 1000.0;
    let chars: Vec<char> = clean.chars().collect();
    let words: Vec<(f32, String)> = collected
        .words
        .iter()
        .map(|&(at, start, length)| {
            let end = (start + length).min(chars.len());
            let word: String = chars[start.min(end)..end].iter().collect();
            (seconds(at), word.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
        })
        .filter(|(_, word)| !word.is_empty())
        .collect();
    let phonemes: Vec<(f32, String)> = collected.phonemes.into_iter().map(|(at, name)| (seconds(at), name)).collect();
    let duration = collected.samples.len() as f32 / sample_rate as f32;
    let phonemes = spans(&phonemes, duration)
        .map(|(start, end, name)| TimedPhoneme { start, end, phoneme: name.clone(), viseme: Viseme::from_ipa(name) })
        .collect();
    let words =
        spans(&words, duration).map(|(start, end, text)| TimedWord { start, end, text: text.clone() }).collect();
    Ok(Speech { sample_rate, samples: collected.samples, phonemes, words })
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_keep_their_words_and_punctuation() {
        let clauses = phonemize("Hello world, my mouth moves. Ça va?", "en-us").expect("phonemize");
        let texts: Vec<&str> = clauses.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["Hello world,", "my mouth moves.", "Ça va?"]);
        let terminators: Vec<Option<char>> = clauses.iter().map(|c| c.terminator).collect();
        assert_eq!(terminators, [Some(','), Some('.'), Some('?')]);
        assert_eq!(clauses[0].phonemes, "həlˈoʊ wˈɜːld");
    }
}
