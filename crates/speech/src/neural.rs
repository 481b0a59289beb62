//! The neural voice: Piper's VITS model for `en_US-joe-medium`, run
//! in-process by ONNX Runtime (loaded from the shared library that
//! scripts/fetch-neural-voice.sh installs next to the model).
//!
//! Piper reads phoneme ids. espeak-ng turns the text into IPA clause by
//! clause; each code point of the IPA (stress and length marks included, as
//! Piper's config maps them) becomes an id, with a pad id after each and
//! begin/end ids around the sentence. The mouth needs to know when each
//! phoneme is heard: the model predicts a whole number of 256-sample frames
//! per id (the output of its `Ceil` node), which it uses internally to
//! stretch the phonemes over time. We add that tensor to the graph's outputs
//! when the model is loaded, so every synthesis returns exact timings with
//! its audio.

use crate::espeak::{self, Clause};
use crate::{Emotion, Speech, SpeechError, SpeechOptions, TimedPhoneme, TimedWord, Viseme, spans};
use ort::session::Session;
use ort::value::Tensor;
use prost::Message;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use tract_onnx::pb;

/// Samples per duration frame of Piper's decoder (its hop length).
const SAMPLES_PER_FRAME: usize = 256;
/// The internal tensor with each phoneme id's length in frames.
const DURATION_TENSOR: &str = "/Ceil_output_0";
const MODEL_FILE: &str = "en_US-joe-medium.onnx";
const CONFIG_FILE: &str = "en_US-joe-medium.onnx.json";
const RUNTIME_FILE: &str = "libonnxruntime.so";
const BEGIN: char = '^';
const END: char = '$';
const PAD: char = '_';

/// Where the voice is looked for: `MOUTHPIECE_NEURAL_DIR`, else the
/// `vendor/neural` folder of the source tree that built this binary.
pub fn neural_dir() -> PathBuf {
    std::env::var_os("MOUTHPIECE_NEURAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vendor/neural"))
}

/// The loaded voice, shared by the whole process (ONNX Runtime is set up
/// once per process, and loading the model takes about a second).
pub(crate) fn voice() -> Result<&'static NeuralVoice, SpeechError> {
    static VOICE: OnceLock<Result<NeuralVoice, String>> = OnceLock::new();
    VOICE.get_or_init(|| NeuralVoice::load(&neural_dir()).map_err(|e| e.to_string())).as_ref().map_err(|e| {
        SpeechError::Engine(format!(
            "the neural voice is not available ({e}); install it with scripts/fetch-neural-voice.sh \
             or point MOUTHPIECE_NEURAL_DIR at its folder"
        ))
    })
}

/// Loads the neural voice now rather than on the first request that needs
/// it (a server calls this at start).
pub fn preload() -> Result<(), SpeechError> {
    voice().map(|_| ())
}

/// Piper's inference settings, from the voice's config.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
struct Inference {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

#[derive(serde::Deserialize)]
struct Config {
    audio: AudioConfig,
    espeak: EspeakConfig,
    inference: Inference,
    phoneme_id_map: HashMap<String, Vec<i64>>,
}

#[derive(serde::Deserialize)]
struct AudioConfig {
    sample_rate: u32,
}

#[derive(serde::Deserialize)]
struct EspeakConfig {
    voice: String,
}

pub(crate) struct NeuralVoice {
    session: Mutex<Session>,
    ids: HashMap<char, Vec<i64>>,
    inference: Inference,
    espeak_voice: String,
    sample_rate: u32,
}

impl NeuralVoice {
    fn load(dir: &Path) -> Result<NeuralVoice, SpeechError> {
        let engine = |what: &str, e: &dyn std::fmt::Display| SpeechError::Engine(format!("{what}: {e}"));
        let runtime = dir.join(RUNTIME_FILE);
        if !runtime.is_file() {
            return Err(SpeechError::Engine(format!("{} is missing", runtime.display())));
        }
        // ONNX Runtime allows one environment per process.
        static RUNTIME: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
        let environment = RUNTIME
            .get_or_init(|| {
                let builder = ort::init_from(&runtime).map_err(|e| e.to_string())?;
                builder.with_name("mouthpiece").with_telemetry(false).build().map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| engine("ONNX Runtime", e))?;
        let config_path = dir.join(CONFIG_FILE);
        let config: Config = serde_json::from_slice(
            &std::fs::read(&config_path).map_err(|e| engine(&config_path.display().to_string(), &e))?,
        )
        .map_err(|e| engine(&config_path.display().to_string(), &e))?;
        let model_path = dir.join(MODEL_FILE);
        let model = std::fs::read(&model_path).map_err(|e| engine(&model_path.display().to_string(), &e))?;
        let model = with_duration_output(&model)?;
        let session = Session::builder(environment)
            .and_then(|b| Ok(b.with_intra_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))?))
            .and_then(|mut b| b.commit_from_memory(&model))
            .map_err(|e| engine("loading the neural voice", &e))?;
        let ids = config
            .phoneme_id_map
            .into_iter()
            .filter_map(|(symbol, ids)| {
                let mut chars = symbol.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some((c, ids)),
                    _ => None,
                }
            })
            .collect::<HashMap<_, _>>();
        for symbol in [BEGIN, END, PAD] {
            if !ids.contains_key(&symbol) {
                return Err(SpeechError::Engine(format!("the voice's config maps no '{symbol}'")));
            }
        }
        Ok(NeuralVoice {
            session: Mutex::new(session),
            ids,
            inference: config.inference,
            espeak_voice: config.espeak.voice,
            sample_rate: config.audio.sample_rate,
        })
    }

    /// Speaks one piece of text (no `<break>` tags) sentence by sentence,
    /// handing each sentence to `each` as soon as it is spoken.
    pub(crate) fn speak_each(
        &self,
        text: &str,
        options: SpeechOptions,
        each: &mut dyn FnMut(Speech) -> Result<(), SpeechError>,
    ) -> Result<(), SpeechError> {
        let clauses = espeak::phonemize(text, &self.espeak_voice)?;
        let delivery = options.emotion.map(Emotion::delivery).unwrap_or_default();
        let speed = options.speed * delivery.pace;
        // Pitch without a change of pace: the model speaks `shift` times slower,
        // and resampling by 1/shift brings the duration back and raises the
        // pitch by `shift`.
        let shift = 2f32.powf((options.pitch + delivery.pitch).clamp(-50.0, 50.0) / 100.0);
        let inference = Inference {
            noise_scale: self.inference.noise_scale * delivery.expressiveness,
            length_scale: self.inference.length_scale / speed * shift,
            noise_w: self.inference.noise_w * delivery.variation,
        };
        for sentence in sentences(&clauses) {
            if let Some(mut part) = self.speak_sentence(sentence, inference)? {
                if (shift - 1.0).abs() > 1e-3 {
                    part = crate::audio::change_pitch(part, shift)?;
                }
                each(part)?;
            }
        }
        Ok(())
    }

    fn speak_sentence(&self, clauses: &[Clause], inference: Inference) -> Result<Option<Speech>, SpeechError> {
        let symbols = sentence_symbols(clauses);
        if !symbols.iter().any(|s| s.kind == SymbolKind::Sound) {
            return Ok(None);
        }
        // Each symbol owns its ids and the pad after them; the sentence is framed by BEGIN+PAD and END.
        let mut ids = Vec::with_capacity(symbols.len() * 2 + 3);
        ids.extend(&self.ids[&BEGIN]);
        ids.extend(&self.ids[&PAD]);
        let lead = ids.len();
        let mut owned = Vec::with_capacity(symbols.len());
        for symbol in &symbols {
            let before = ids.len();
            if let Some(symbol_ids) = self.ids.get(&symbol.symbol) {
                ids.extend(symbol_ids);
                ids.extend(&self.ids[&PAD]);
            }
            owned.push(ids.len() - before);
        }
        ids.extend(&self.ids[&END]);
        let (audio, frames) = self.run(&ids, inference)?;
        // Sample position where each id starts.
        let mut starts = Vec::with_capacity(frames.len() + 1);
        let mut at = 0usize;
        for frames in &frames {
            starts.push(at);
            at += (frames.max(0.0) as usize) * SAMPLES_PER_FRAME;
        }
        starts.push(at);
        let rate = self.sample_rate as f32;
        let seconds = |id: usize| starts[id.min(starts.len() - 1)].min(audio.len()) as f32 / rate;
        let mut id = lead;
        let timed: Vec<(f32, f32)> = owned
            .iter()
            .map(|&count| {
                let span = (seconds(id), seconds(id + count));
                id += count;
                span
            })
            .collect();
        let duration = audio.len() as f32 / rate;
        let samples = crate::audio::to_pcm(&audio);
        Ok(Some(Speech {
            sample_rate: self.sample_rate,
            samples,
            phonemes: timed_phonemes(&symbols, &timed, duration),
            words: timed_words(clauses, &symbols, &timed),
        }))
    }

    /// Runs the model: audio samples (−1…1) and the length of every id in frames.
    fn run(&self, ids: &[i64], inference: Inference) -> Result<(Vec<f32>, Vec<f32>), SpeechError> {
        let engine = |e: ort::Error| SpeechError::Engine(format!("neural voice: {e}"));
        let input = Tensor::from_array(([1usize, ids.len()], ids.to_vec())).map_err(engine)?;
        let lengths = Tensor::from_array(([1usize], vec![ids.len() as i64])).map_err(engine)?;
        let scales =
            Tensor::from_array(([3usize], vec![inference.noise_scale, inference.length_scale, inference.noise_w]))
                .map_err(engine)?;
        let mut session = self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let outputs = session
            .run(ort::inputs! { "input" => input, "input_lengths" => lengths, "scales" => scales })
            .map_err(engine)?;
        let (_, audio) = outputs["output"].try_extract_tensor::<f32>().map_err(engine)?;
        let (_, frames) = outputs[DURATION_TENSOR].try_extract_tensor::<f32>().map_err(engine)?;
        if frames.len() != ids.len() {
            return Err(SpeechError::Engine(format!(
                "neural voice: {} durations for {} phoneme ids",
                frames.len(),
                ids.len()
            )));
        }
        Ok((audio.to_vec(), frames.to_vec()))
    }
}

/// Adds the duration tensor to the model's outputs.
fn with_duration_output(model: &[u8]) -> Result<Vec<u8>, SpeechError> {
    let mut proto = pb::ModelProto::decode(model)
        .map_err(|e| SpeechError::Engine(format!("the neural voice model is not ONNX: {e}")))?;
    let graph =
        proto.graph.as_mut().ok_or_else(|| SpeechError::Engine("the neural voice model has no graph".into()))?;
    if !graph.node.iter().any(|node| node.output.iter().any(|o| o == DURATION_TENSOR)) {
        return Err(SpeechError::Engine(format!(
            "the neural voice model has no {DURATION_TENSOR}; is it a Piper VITS voice?"
        )));
    }
    if !graph.output.iter().any(|o| o.name == DURATION_TENSOR) {
        let tensor = pb::type_proto::Tensor { elem_type: pb::tensor_proto::DataType::Float as i32, shape: None };
        graph.output.push(pb::ValueInfoProto {
            name: DURATION_TENSOR.into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(tensor)),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    Ok(proto.encode_to_vec())
}

/// Clauses grouped into sentences (each spoken by one run of the model, as Piper does).
fn sentences(clauses: &[Clause]) -> impl Iterator<Item = &[Clause]> {
    clauses.split_inclusive(|clause| matches!(clause.terminator, Some('.' | '!' | '?')))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SymbolKind {
    /// A speech sound (a letter of the IPA).
    Sound,
    /// A stress mark, which belongs to the sound after it.
    Stress,
    /// A length or other modifying mark, which belongs to the sound before it.
    Modifier,
    /// The space between words.
    Space,
    /// Punctuation, heard as a pause.
    Pause,
}

#[derive(Debug, Clone, Copy)]
struct Symbol {
    symbol: char,
    kind: SymbolKind,
    /// Which clause it came from, and which word of the clause's IPA.
    clause: usize,
    word: usize,
}

/// The code points Piper reads for a sentence: each clause's IPA (split
/// into code points after Unicode decomposition, as Piper does), followed by
/// its punctuation, and a space after a comma, colon or semicolon.
fn sentence_symbols(clauses: &[Clause]) -> Vec<Symbol> {
    let mut symbols = Vec::new();
    for (index, clause) in clauses.iter().enumerate() {
        let mut word = 0;
        let mut text: String = unicode_normalization::UnicodeNormalization::nfd(clause.phonemes.as_str()).collect();
        if let Some(terminator) = clause.terminator {
            text.push(terminator);
            if matches!(terminator, ',' | ':' | ';') {
                text.push(' ');
            }
        }
        for symbol in text.chars() {
            let kind = match symbol {
                'ˈ' | 'ˌ' => SymbolKind::Stress,
                'ː' | 'ˑ' | '\u{0300}'..='\u{036F}' | 'ʰ' | 'ʲ' | 'ʷ' => SymbolKind::Modifier,
                c if c.is_whitespace() => SymbolKind::Space,
                '.' | ',' | '!' | '?' | ';' | ':' | '—' | '…' => SymbolKind::Pause,
                _ => SymbolKind::Sound,
            };
            if kind == SymbolKind::Space {
                word += 1;
            }
            symbols.push(Symbol { symbol, kind, clause: index, word });
        }
    }
    symbols
}

/// Phonemes with their spans: a sound with the stress mark before it and
/// the marks after it; pauses at punctuation and around the sentence.
fn timed_phonemes(symbols: &[Symbol], timed: &[(f32, f32)], duration: f32) -> Vec<TimedPhoneme> {
    let mut starts: Vec<(f32, String)> = vec![(0.0, PAD.to_string())];
    let mut stressed_from: Option<(f32, char)> = None;
    for (symbol, &(start, _)) in symbols.iter().zip(timed) {
        match symbol.kind {
            SymbolKind::Sound => {
                let (start, mut name) = match stressed_from.take() {
                    Some((at, mark)) => (at, mark.to_string()),
                    None => (start, String::new()),
                };
                name.push(symbol.symbol);
                starts.push((start, name));
            }
            SymbolKind::Stress => stressed_from = Some((start, symbol.symbol)),
            SymbolKind::Modifier => {
                if let Some((_, name)) = starts.last_mut().filter(|(_, name)| name != "_") {
                    name.push(symbol.symbol);
                }
            }
            // A question's pause is named for it, so motion can tell a question from a statement.
            SymbolKind::Pause if symbol.symbol == '?' => starts.push((start, crate::QUESTION_PAUSE.to_string())),
            SymbolKind::Pause => starts.push((start, PAD.to_string())),
            SymbolKind::Space => {}
        }
    }
    // The silence after the sentence's last symbol (the end id's span).
    if let Some(&(_, end)) = timed.last() {
        starts.push((end, PAD.to_string()));
    }
    // Neighbouring pauses are one pause.
    starts.dedup_by(|next, kept| next.1 == "_" && kept.1.starts_with('_'));
    spans(&starts, duration)
        .filter(|(start, end, _)| end > start)
        .map(|(start, end, name)| TimedPhoneme { start, end, phoneme: name.clone(), viseme: Viseme::from_ipa(name) })
        .collect()
}

/// Words as written, timed by the spoken words of their clause. When
/// espeak-ng reads a clause as as many words as are written, they pair up;
/// when not (numbers, abbreviations), the written words share the clause's
/// speaking time in proportion to their length.
fn timed_words(clauses: &[Clause], symbols: &[Symbol], timed: &[(f32, f32)]) -> Vec<TimedWord> {
    let mut words = Vec::new();
    for (index, clause) in clauses.iter().enumerate() {
        let mut spoken: Vec<(f32, f32)> = Vec::new();
        let mut current: Option<(usize, f32, f32)> = None;
        for (symbol, &(start, end)) in symbols.iter().zip(timed) {
            if symbol.clause != index || matches!(symbol.kind, SymbolKind::Space | SymbolKind::Pause) {
                continue;
            }
            current = match current {
                Some((word, first, _)) if word == symbol.word => Some((word, first, end)),
                other => {
                    if let Some((_, first, last)) = other {
                        spoken.push((first, last));
                    }
                    Some((symbol.word, start, end))
                }
            };
        }
        if let Some((_, first, last)) = current {
            spoken.push((first, last));
        }
        let written: Vec<String> = clause
            .text
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
            .filter(|w| !w.is_empty())
            .collect();
        let (Some(first), Some(last)) = (spoken.first(), spoken.last()) else { continue };
        if written.len() == spoken.len() {
            words.extend(written.into_iter().zip(&spoken).map(|(text, &(start, end))| TimedWord { start, end, text }));
        } else {
            let total: usize = written.iter().map(|w| w.chars().count()).sum();
            let span = last.1 - first.0;
            let mut at = first.0;
            for text in written {
                let length = span * text.chars().count() as f32 / total.max(1) as f32;
                words.push(TimedWord { start: at, end: at + length, text });
                at += length;
            }
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(text: &str, phonemes: &str, terminator: Option<char>) -> Clause {
        Clause { text: text.into(), phonemes: phonemes.into(), terminator }
    }

    #[test]
    fn marks_attach_to_their_sounds_and_punctuation_pauses() {
        let clauses = [clause("Hi, bob?", "hˈaɪ", Some(',')), clause("bob?", "bˈɑːb", Some('?'))];
        let symbols = sentence_symbols(&clauses);
        let timed: Vec<(f32, f32)> = (0..symbols.len()).map(|i| (0.1 + i as f32 * 0.1, 0.2 + i as f32 * 0.1)).collect();
        let phonemes = timed_phonemes(&symbols, &timed, 2.0);
        let names: Vec<&str> = phonemes.iter().map(|p| p.phoneme.as_str()).collect();
        // A question's pause is named for it (and the sentence's end joins it).
        assert_eq!(names, ["_", "h", "ˈa", "ɪ", "_", "b", "ˈɑː", "b", crate::QUESTION_PAUSE]);
        assert!(phonemes.windows(2).all(|w| (w[0].end - w[1].start).abs() < 1e-6), "no gaps or overlaps");
        assert_eq!(phonemes.last().map(|p| p.end), Some(2.0));
        assert_eq!(phonemes[5].viseme, Viseme::Closed);
    }

    #[test]
    fn written_words_follow_spoken_words() {
        let clauses = [clause("I have 12 cats", "aɪ hæv twˈɛlv kˈæts", None)];
        let symbols = sentence_symbols(&clauses);
        let timed: Vec<(f32, f32)> = (0..symbols.len()).map(|i| (i as f32, i as f32 + 1.0)).collect();
        let words = timed_words(&clauses, &symbols, &timed);
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["I", "have", "12", "cats"]);
        assert_eq!((words[0].start, words[1].start), (0.0, 3.0));
        let numbers = [clause("In 1999 we", "ɪn nˈaɪntiːn nˈaɪnti nˈaɪn wiː", None)];
        let symbols = sentence_symbols(&numbers);
        let timed: Vec<(f32, f32)> = (0..symbols.len()).map(|i| (i as f32, i as f32 + 1.0)).collect();
        let words = timed_words(&numbers, &symbols, &timed);
        assert_eq!(words.len(), 3);
        assert!(words.windows(2).all(|w| w[0].end <= w[1].start + 1e-4));
    }
}
