//! Timing accuracy of the neural voice, checked against an alignment that
//! does not come from the model: word onsets found in the produced audio by
//! its energy, on a sentence whose words are separated by clear pauses.

use speech::{DEFAULT_VOICE_ID, SpeechOptions, synthesize};

/// Energy frames of 10 ms.
const FRAME: f32 = 0.010;

/// Starts of sounds that follow at least `gap` seconds of quiet (below
/// −40 dB of the loudest frame).
fn onsets(samples: &[i16], sample_rate: u32, gap: f32) -> Vec<f32> {
    let frame = (sample_rate as f32 * FRAME) as usize;
    let energy: Vec<f32> = samples
        .chunks(frame)
        .map(|chunk| (chunk.iter().map(|&s| (s as f32).powi(2)).sum::<f32>() / chunk.len() as f32).sqrt())
        .collect();
    let loudest = energy.iter().copied().fold(0.0, f32::max);
    let threshold = loudest * 0.01;
    let mut onsets = Vec::new();
    let mut quiet = gap;
    for (index, &e) in energy.iter().enumerate() {
        if e < threshold {
            quiet += FRAME;
        } else {
            if quiet >= gap {
                onsets.push(index as f32 * FRAME);
            }
            quiet = 0.0;
        }
    }
    onsets
}

#[test]
fn word_starts_match_the_onsets_heard_in_the_audio() {
    let text = "Bob. Dad. Kate. Pam. Tim. Gus. Dave.";
    let speech = synthesize(text, DEFAULT_VOICE_ID, SpeechOptions::default()).expect("neural voice");
    let heard = onsets(&speech.samples, speech.sample_rate, 0.12);
    let told: Vec<f32> = speech.words.iter().map(|w| w.start).collect();
    assert_eq!(told.len(), 7, "{:?}", speech.words);
    assert_eq!(heard.len(), told.len(), "onsets heard {heard:?}, words {told:?}");
    let errors: Vec<f32> = heard.iter().zip(&told).map(|(h, t)| (h - t).abs() * 1000.0).collect();
    let mean = errors.iter().sum::<f32>() / errors.len() as f32;
    println!("word onset error: mean {mean:.1} ms, each {errors:.0?} ms");
    assert!(mean < 40.0, "mean error {mean} ms");
}

#[test]
fn phoneme_timings_cover_the_audio_without_gaps() {
    let speech = synthesize(
        "Good morning! This is the neural voice, reading 3 short sentences. <break time=\"1s\"/> Thank you.",
        DEFAULT_VOICE_ID,
        SpeechOptions::default(),
    )
    .expect("neural voice");
    let phonemes = &speech.phonemes;
    assert!(phonemes.len() > 40, "{} phonemes", phonemes.len());
    assert!(phonemes[0].start.abs() < 1e-6);
    assert!((phonemes[phonemes.len() - 1].end - speech.duration()).abs() < 0.002);
    for pair in phonemes.windows(2) {
        assert!((pair[1].start - pair[0].end).abs() < 1e-4, "gap or overlap between {:?} and {:?}", pair[0], pair[1]);
        assert!(pair[0].end > pair[0].start, "empty span {:?}", pair[0]);
    }
    let words: Vec<&str> = speech.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(
        words,
        [
            "Good",
            "morning",
            "This",
            "is",
            "the",
            "neural",
            "voice",
            "reading",
            "3",
            "short",
            "sentences",
            "Thank",
            "you"
        ]
    );
    let rest =
        phonemes.iter().filter(|p| p.viseme == speech::Viseme::Rest).map(|p| p.end - p.start).fold(0.0, f32::max);
    assert!(rest >= 0.95, "the break is a rest of a second or more, longest {rest}");
}

#[test]
fn pitch_emotion_and_speed_change_the_neural_voice() {
    let text = "The quick brown fox jumps over the lazy dog.";
    let normal = synthesize(text, DEFAULT_VOICE_ID, SpeechOptions::default()).expect("normal");
    let fast = synthesize(text, DEFAULT_VOICE_ID, SpeechOptions { speed: 1.5, ..Default::default() }).expect("fast");
    assert!(fast.duration() < 0.8 * normal.duration(), "{} vs {}", fast.duration(), normal.duration());
    // A higher pitch keeps the pace: the duration stays within the model's own variation.
    let high = synthesize(text, DEFAULT_VOICE_ID, SpeechOptions { pitch: 40.0, ..Default::default() }).expect("high");
    let ratio = high.duration() / normal.duration();
    assert!((0.85..1.15).contains(&ratio), "pitch changed the duration by {ratio}");
    assert!(zero_crossings(&high) > zero_crossings(&normal) * 1.1, "a higher pitch has more zero crossings");
    let soothing = SpeechOptions { emotion: Some(speech::Emotion::Soothing), ..Default::default() };
    let calm = synthesize(text, DEFAULT_VOICE_ID, soothing).expect("soothing");
    assert!(calm.duration() > normal.duration() * 1.05, "soothing is slower");
    let refused = synthesize(text, "de-de-female", soothing);
    assert!(matches!(refused, Err(speech::SpeechError::Option(_))), "{refused:?}");
}

fn zero_crossings(speech: &speech::Speech) -> f32 {
    let crossings = speech.samples.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f32 / speech.duration()
}
