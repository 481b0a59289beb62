//! The head and brows: smooth idle motion in 3-D that never repeats, and
//! the accents speech gives it. People nod a little on stressed syllables
//! and more at the end of a phrase, lift their brows on the syllables they
//! stress most and as a question begins, and turn their head slightly
//! towards the end of a question.

use crate::noise::Noise;
use crate::smooth;
use speech::{Speech, Viseme};

/// Spread of the idle motion (standard deviation, radians) at liveliness 1,
/// for yaw, pitch and roll. A person talking to a camera turns a few
/// degrees either way; their head rolls and tips less.
const SWAY: [f32; 3] = [0.034, 0.02, 0.015];
/// Seconds between the noise knots of the slow and the quick part of the
/// sway, and the quick part's share.
const SLOW: f32 = 1.7;
const QUICK: f32 = 0.6;
const QUICK_SHARE: f32 = 0.35;
/// The sway's in-plane drift, in eye distances.
const DRIFT: f32 = 0.012;
/// A nod on a stressed syllable and at a phrase's end, radians of pitch.
const STRESS_NOD: f32 = 0.022;
const PHRASE_NOD: f32 = 0.035;
/// Seconds of the sway's noise whose spread sets its scale.
const NORMALISING_SPAN: f32 = 10.0;
/// The turn towards the end of a question, radians of yaw (and a third of
/// it of roll, the head tilting as it turns).
const QUESTION_TURN: f32 = 0.05;

/// A moment the speech stresses, with its strength (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Accent {
    pub(crate) at: f32,
    pub(crate) strength: f32,
}

/// The head's pose in one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct HeadPose {
    pub(crate) yaw: f32,
    pub(crate) pitch: f32,
    pub(crate) roll: f32,
    pub(crate) shift: [f32; 2],
}

/// What in the speech moves the head and brows.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Cues {
    /// Stressed syllables: vowels espeak-ng marks with primary stress
    /// (which it gives to content words), strong as they are loud.
    pub(crate) stressed: Vec<Accent>,
    /// Ends of phrases: the last sound before a pause of 0.15 s or more, or before the end.
    pub(crate) phrase_ends: Vec<f32>,
    /// Questions: from their first sound to the pause after their "?".
    pub(crate) questions: Vec<(f32, f32)>,
}

/// Reads the cues of `speech`, whose loudness per frame is `envelope`.
pub(crate) fn cues(speech: &Speech, envelope: &[f32], fps: f32) -> Cues {
    let loudness = |start: f32, end: f32| {
        let (a, b) = ((start * fps) as usize, ((end * fps).ceil() as usize).max(start as usize + 1));
        envelope.get(a..b.min(envelope.len())).map_or(0.0, |s| s.iter().copied().fold(0.0, f32::max))
    };
    let stressed = speech
        .phonemes
        .iter()
        .filter(|p| p.phoneme.contains('ˈ') && is_vowel(p.viseme))
        .map(|p| Accent { at: p.start, strength: loudness(p.start, p.end) })
        .collect();
    let mut phrase_ends = Vec::new();
    let sounds: Vec<_> = speech.phonemes.iter().filter(|p| p.viseme != Viseme::Rest).collect();
    for (i, p) in sounds.iter().enumerate() {
        let next = sounds.get(i + 1).map_or(f32::INFINITY, |n| n.start);
        if next - p.end >= 0.15 {
            phrase_ends.push(p.end);
        }
    }
    // A question runs from the first sound after the previous sentence's
    // or question's end to its own question pause.
    let mut questions = Vec::new();
    let mut begins: Option<f32> = None;
    for p in &speech.phonemes {
        if p.viseme != Viseme::Rest {
            begins.get_or_insert(p.start);
        } else if p.phoneme == speech::QUESTION_PAUSE {
            if let Some(start) = begins.take() {
                questions.push((start, p.start));
            }
        } else if p.end - p.start >= 0.3 {
            begins = None;
        }
    }
    Cues { stressed, phrase_ends, questions }
}

fn is_vowel(viseme: Viseme) -> bool {
    matches!(viseme, Viseme::Rounded | Viseme::RoundedOpen | Viseme::Spread | Viseme::Mid | Viseme::Open)
}

/// The head's pose for each of `frames` frames at `fps`.
pub(crate) fn head_track(frames: usize, fps: f32, seed: u64, liveliness: f32, cues: &Cues) -> Vec<HeadPose> {
    let channel = |k: u64| {
        let (slow, quick) = (Noise::new(seed, 2 * k, SLOW), Noise::new(seed, 2 * k + 1, QUICK));
        move |t: f32| slow.at(t) + QUICK_SHARE * quick.at(t)
    };
    let [yaw, pitch, roll, drift_x, drift_y] = [0, 1, 2, 3, 4].map(channel);
    let times: Vec<f32> = (0..frames).map(|f| f as f32 / fps).collect();
    // Each channel is brought to its spread over its first
    // `NORMALISING_SPAN` seconds, whatever the clip's length, so an unlucky
    // draw moves as much as any other and a frame's pose never depends on
    // how much speech follows it.
    let span: Vec<f32> = (0..(NORMALISING_SPAN * fps) as usize).map(|f| f as f32 / fps).collect();
    let normalised = |noise: &dyn Fn(f32) -> f32, spread: f32| -> Vec<f32> {
        let reference: Vec<f32> = span.iter().map(|&t| noise(t)).collect();
        let n = reference.len().max(1) as f32;
        let mean = reference.iter().sum::<f32>() / n;
        let deviation = (reference.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt().max(1e-3);
        times.iter().map(|&t| (noise(t) - mean) / deviation * spread * liveliness).collect()
    };
    let [yaw, pitch, roll] = [(&yaw, SWAY[0]), (&pitch, SWAY[1]), (&roll, SWAY[2])]
        .map(|(noise, spread)| normalised(noise as &dyn Fn(f32) -> f32, spread));
    times
        .iter()
        .enumerate()
        .map(|(frame, &t)| {
            let accent = accent_pose(t, seed, liveliness, cues);
            // The sway eases in over the first half second: the first frame is the photo.
            let ease = smooth(t / 0.5);
            HeadPose {
                yaw: ease * (yaw[frame] + accent.yaw),
                pitch: ease * (pitch[frame] + accent.pitch),
                roll: ease * (roll[frame] + accent.roll),
                shift: [ease * liveliness * DRIFT * drift_x(t), ease * liveliness * DRIFT * drift_y(t)],
            }
        })
        .collect()
}

/// What the speech adds to the head's pose at `t`: nods on stressed
/// syllables and at the ends of phrases, and towards a question's end a
/// small turn (each question its own way) that holds and comes back.
pub(crate) fn accent_pose(t: f32, seed: u64, liveliness: f32, cues: &Cues) -> HeadPose {
    let nods = cues.stressed.iter().map(|a| a.strength * STRESS_NOD * nod(t - a.at, 0.12, 0.45)).sum::<f32>()
        + cues.phrase_ends.iter().map(|&end| PHRASE_NOD * nod(t - end, 0.2, 0.8)).sum::<f32>();
    let turn = cues
        .questions
        .iter()
        .enumerate()
        .map(|(k, &(start, end))| {
            let side = if Noise::new(seed, 100 + k as u64, 1.0).at(0.5) >= 0.0 { 1.0 } else { -1.0 };
            let lead = 0.8f32.min(end - start);
            let towards = smooth((t - (end - lead)) / lead.max(0.1));
            let back = 1.0 - smooth((t - end - 0.3) / 0.8);
            side * QUESTION_TURN * towards.min(back)
        })
        .sum::<f32>();
    HeadPose { yaw: liveliness * turn, pitch: liveliness * nods, roll: liveliness * turn / 3.0, shift: [0.0; 2] }
}

fn nod(dt: f32, peak: f32, end: f32) -> f32 {
    if !(-0.05..=end).contains(&dt) {
        0.0
    } else if dt < peak {
        smooth((dt + 0.05) / (peak + 0.05))
    } else {
        1.0 - smooth((dt - peak) / (end - peak))
    }
}

/// Seconds either side of a stressed syllable that say whether it is
/// strong enough to lift the brows.
const BROW_CONTEXT: f32 = 2.0;

/// How far the brows are lifted in each frame: as each question begins and
/// on the strongest stressed syllables, at most one lift every 1.5 s,
/// rising quickly and settling slowly.
pub(crate) fn brow_track(frames: usize, fps: f32, cues: &Cues) -> Vec<f32> {
    // Questions first: they take their place before any syllable does.
    let mut chosen: Vec<Accent> =
        cues.questions.iter().map(|&(start, _)| Accent { at: start + 0.1, strength: 1.0 }).collect();
    // A syllable lifts them if it is the strongest within 1.5 s and at least
    // half as strong as the strongest within `BROW_CONTEXT`: a choice made
    // from the speech around it, never from the whole clip.
    for (index, accent) in cues.stressed.iter().enumerate() {
        let strongest_near = cues
            .stressed
            .iter()
            .filter(|other| (other.at - accent.at).abs() <= BROW_CONTEXT)
            .map(|other| other.strength)
            .fold(0.0, f32::max);
        // Of equals, the earlier one leads.
        let leads = cues.stressed.iter().enumerate().all(|(other_index, other)| {
            (other.at - accent.at).abs() >= 1.5
                || other.strength < accent.strength
                || (other.strength == accent.strength && other_index >= index)
        });
        if accent.strength >= 0.5 * strongest_near && leads && chosen.iter().all(|c| (c.at - accent.at).abs() >= 1.5) {
            chosen.push(*accent);
        }
    }
    (0..frames)
        .map(|frame| {
            let t = frame as f32 / fps;
            chosen
                .iter()
                .map(|a| {
                    let dt = t - a.at + 0.1;
                    let lift = if !(0.0..=1.1).contains(&dt) {
                        0.0
                    } else if dt < 0.15 {
                        smooth(dt / 0.15)
                    } else if dt < 0.4 {
                        1.0
                    } else {
                        1.0 - smooth((dt - 0.4) / 0.7)
                    };
                    (0.6 + 0.4 * a.strength) * lift
                })
                .fold(0.0, f32::max)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percentile_range(values: &[f32]) -> f32 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f32::total_cmp);
        sorted[sorted.len() * 95 / 100] - sorted[sorted.len() * 5 / 100]
    }

    #[test]
    fn the_head_turns_tips_and_rolls_by_degrees() {
        for seed in 0..20 {
            let track = head_track(250, 25.0, seed, 1.0, &Cues::default());
            let degrees =
                |f: fn(&HeadPose) -> f32| percentile_range(&track.iter().map(f).collect::<Vec<_>>()).to_degrees();
            let (yaw, pitch, roll) = (degrees(|p| p.yaw), degrees(|p| p.pitch), degrees(|p| p.roll));
            assert!((5.0..9.0).contains(&yaw), "seed {seed}: yaw range {yaw}°");
            assert!((3.0..6.0).contains(&pitch), "seed {seed}: pitch range {pitch}°");
            assert!((2.2..4.0).contains(&roll), "seed {seed}: roll range {roll}°");
            assert_eq!(track[0], HeadPose::default(), "the first frame is the photo");
        }
    }

    #[test]
    fn stressed_syllables_nod_and_lift_the_brows() {
        let stressed = vec![
            Accent { at: 1.0, strength: 1.0 },
            Accent { at: 1.4, strength: 0.9 },
            Accent { at: 3.0, strength: 0.3 },
        ];
        let cues = Cues { stressed, ..Cues::default() };
        let calm = head_track(100, 25.0, 3, 1.0, &Cues::default());
        let nodding = head_track(100, 25.0, 3, 1.0, &cues);
        let dip = (nodding[28].pitch - calm[28].pitch).to_degrees();
        assert!(dip > 1.0, "a nod just after the stress: {dip}°");
        let brows = brow_track(100, 25.0, &cues);
        assert!(brows[27] > 0.8, "brows up on the strongest syllable: {}", brows[27]);
        assert!(brows[10] == 0.0 && brows[60] < 0.05, "and down again: {} {}", brows[10], brows[60]);
        assert!(brows[76] == 0.0, "a weak syllable lifts nothing: {}", brows[76]);
    }

    #[test]
    fn a_question_turns_the_head_and_lifts_the_brows() {
        let cues = Cues { questions: vec![(1.0, 3.0)], ..Cues::default() };
        let calm = head_track(150, 25.0, 5, 1.0, &Cues::default());
        let asking = head_track(150, 25.0, 5, 1.0, &cues);
        let turn = |frame: usize| (asking[frame].yaw - calm[frame].yaw).to_degrees().abs();
        assert!(turn(30) < 0.01, "no turn early in the question: {}°", turn(30));
        assert!(turn(80) > 2.0, "turned at its end: {}°", turn(80));
        assert!(turn(140) < 0.01, "and back a second later: {}°", turn(140));
        let brows = brow_track(150, 25.0, &cues);
        assert!(brows[30] > 0.8, "brows up as the question begins: {}", brows[30]);
    }
}
