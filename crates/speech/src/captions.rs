//! Captions from word timings: SRT and WebVTT cues of a few words each.

use crate::TimedWord;

/// At most this many words, or this many seconds, per cue.
const WORDS_PER_CUE: usize = 7;
const SECONDS_PER_CUE: f32 = 3.5;

/// One caption: from `start` to `end` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start: f32,
    pub end: f32,
    pub text: String,
}

/// Groups words into cues, breaking after sentence ends, long pauses and the
/// size limits above.
pub fn cues(words: &[TimedWord]) -> Vec<Cue> {
    let mut cues: Vec<Cue> = Vec::new();
    let mut current: Vec<&TimedWord> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        current.push(word);
        let next = words.get(i + 1);
        let first = current[0];
        let full = current.len() >= WORDS_PER_CUE || word.end - first.start >= SECONDS_PER_CUE;
        let pause = next.is_none_or(|n| n.start - word.end > 0.6);
        if full || pause || next.is_none() {
            cues.push(Cue {
                start: first.start,
                end: word.end,
                text: current.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "),
            });
            current.clear();
        }
    }
    cues
}

fn timestamp(seconds: f32, separator: char) -> String {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, m, s, ms) = (millis / 3_600_000, millis / 60_000 % 60, millis / 1000 % 60, millis % 1000);
    format!("{h:02}:{m:02}:{s:02}{separator}{ms:03}")
}

pub fn srt(cues: &[Cue]) -> String {
    cues.iter()
        .enumerate()
        .map(|(i, c)| format!("{}\n{} --> {}\n{}\n\n", i + 1, timestamp(c.start, ','), timestamp(c.end, ','), c.text))
        .collect()
}

pub fn vtt(cues: &[Cue]) -> String {
    let body: String = cues
        .iter()
        .map(|c| format!("{} --> {}\n{}\n\n", timestamp(c.start, '.'), timestamp(c.end, '.'), c.text))
        .collect();
    format!("WEBVTT\n\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(start: f32, end: f32, text: &str) -> TimedWord {
        TimedWord { start, end, text: text.into() }
    }

    #[test]
    fn cues_break_at_pauses_and_size() {
        let words: Vec<TimedWord> =
            (0..9).map(|i| word(i as f32 * 0.3, i as f32 * 0.3 + 0.25, "w")).chain([word(5.0, 5.4, "late")]).collect();
        let cues = cues(&words);
        assert_eq!(cues.len(), 3, "{cues:?}");
        assert_eq!(cues[0].text.split(' ').count(), 7);
        assert_eq!(cues[2].text, "late");
        let srt = srt(&cues);
        assert!(srt.starts_with("1\n00:00:00,000 --> 00:00:02,050\nw w w w w w w\n\n2\n"), "{srt}");
        assert!(vtt(&cues).starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:02.050\n"));
        assert_eq!(timestamp(3725.5, ','), "01:02:05,500");
    }
}
