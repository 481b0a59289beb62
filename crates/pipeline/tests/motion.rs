//! The face moves as a person's does, as a viewer sees it: real MP4s are
//! rendered, decoded, and read by the face landmark model (followed from
//! frame to frame as MediaPipe follows a face in a video), and the head's
//! turn, the brows and the lips are measured on what the model sees, not
//! on our own motion values. Figures are printed; targets are issue 15's.

mod support;

use face::{PhotoLimits, decode_photo};
use pipeline::{Expression, Layout, PhotoFrame, VideoSpec};
use support::*;

const SENTENCE: &str = "Good morning! My name is Eileen, and I flew the space shuttle. Have you ever wondered \
    what our planet looks like from orbit? Today I will tell you all about it, because it is simply wonderful.";
const SIDE: u32 = 640;

fn square(expression: Expression) -> VideoSpec {
    let mut spec = VideoSpec::new(SIDE, SIDE, [255, 255, 255]).expect("spec");
    spec.layout = Layout { frame: PhotoFrame::Square, ..Layout::default() };
    spec.expression = expression;
    spec
}

/// What the models read off a video of the sentence: ranges (5th to 95th
/// percentile over the frames) of the head's yaw, pitch and roll in
/// degrees, of the brow-to-eye distance in eye-corner distances and of the
/// irises' position across the eye in eye widths; and the saccades seen.
struct Ranges {
    angles: [f32; 3],
    brows: f32,
    iris: f32,
    saccades: usize,
}

fn motion_ranges(name: &str, expression: Expression, speech: &speech::Speech) -> Ranges {
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode");
    let dir = tempfile::tempdir().expect("temp");
    let video = render_and_decode(name, &photo, speech, square(expression), dir.path());
    let seen = follow(&video.frames);
    let unreadable = seen.iter().filter(|s| s.is_none()).count();
    assert!(unreadable * 50 <= seen.len(), "{unreadable} of {} frames unreadable", seen.len());
    let points: Vec<&Vec<[f32; 3]>> = seen.iter().flatten().map(|s| &s.points).collect();
    let reference = points[0];
    let poses: Vec<[f32; 3]> = points.iter().map(|p| head_pose(reference, p)).collect();
    let angles = [0, 1, 2].map(|k| percentile_range(&poses.iter().map(|p| p[k]).collect::<Vec<_>>()));
    // Brow height: the brows' mean distance below (negative: above) the eye-corner line.
    const BROWS: [usize; 10] = [70, 63, 105, 66, 107, 300, 293, 334, 296, 336];
    let brows: Vec<f32> = points
        .iter()
        .map(|p| {
            let height = BROWS.iter().map(|&i| -below_eye_line(p, p[i])).sum::<f32>() / BROWS.len() as f32;
            height / eye_corners(p)
        })
        .collect();
    // The irises across their eye, from corner to corner (0 to 1), both eyes
    // averaged; frames with a lid half down are left out (the model guesses
    // a hidden iris).
    let eyes = [(33, 133, 159, 145), (362, 263, 386, 374)];
    let iris: Vec<(usize, f32)> = seen
        .iter()
        .enumerate()
        .filter_map(|(frame, s)| s.as_ref().map(|s| (frame, s)))
        .filter(|(_, s)| {
            eyes.iter().all(|&(a, b, up, down)| {
                distance(s.points[up], s.points[down]) > 0.6 * 0.3 * distance(s.points[a], s.points[b])
            })
        })
        .map(|(frame, s)| {
            let across = |k: usize| {
                let (a, b) = (s.points[eyes[k].0], s.points[eyes[k].1]);
                let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
                let c = s.irises[k].centre;
                ((c[0] - a[0]) * dx + (c[1] - a[1]) * dy) / (dx * dx + dy * dy).max(1.0)
            };
            (frame, (across(0) + across(1)) / 2.0)
        })
        .collect();
    // A saccade: the gaze jumps by more than 3% of the eye width within 3 frames, at least 0.3 s after the last.
    let mut saccades = 0;
    let mut last = -100i64;
    for pair in iris.windows(4) {
        let (start, end) = (pair[0], pair[3]);
        if end.0 - start.0 <= 4 && (end.1 - start.1).abs() > 0.03 && start.0 as i64 - last > 7 {
            saccades += 1;
            last = end.0 as i64;
        }
    }
    let iris_range = percentile_range(&iris.iter().map(|i| i.1).collect::<Vec<_>>());
    Ranges { angles, brows: percentile_range(&brows), iris: iris_range, saccades }
}

#[test]
fn the_head_turns_in_3d_the_brows_lift_and_the_eyes_look_about() {
    // One sentence, spoken once: the neural voice's timing varies from run
    // to run, and only the style may differ between the two videos.
    let speech = speech::synthesize(SENTENCE, speech::DEFAULT_VOICE_ID, Default::default()).expect("speech");
    let default = motion_ranges("motion-default", Expression::STABLE, &speech);
    let expressive = motion_ranges("motion-expressive", Expression::EXPRESSIVE, &speech);
    for (name, r) in [("default", &default), ("expressive", &expressive)] {
        eprintln!(
            "{name} read by the models (p5–p95): yaw {:.1}°, pitch {:.1}°, roll {:.1}°, brows {:.3}, \
             iris {:.3} of the eye width, {} saccades",
            r.angles[0], r.angles[1], r.angles[2], r.brows, r.iris, r.saccades
        );
    }
    let (stable, lively, stable_brows) = (default.angles, expressive.angles, default.brows);
    assert!(stable[0] >= 4.0, "yaw range {:.1}° (at least 4°)", stable[0]);
    assert!(stable[1] >= 3.0, "pitch range {:.1}° (at least 3°)", stable[1]);
    assert!(stable[2] >= 2.0, "roll range {:.1}° (at least 2°)", stable[2]);
    assert!(stable_brows >= 0.03, "brow-to-eye distance varies by {stable_brows:.3} eye distances (at least 0.03)");
    // A still photo reads an iris range of about 0.01 (MediaPipe's own mesh on our MP4s: 0.017 before this work).
    assert!(default.iris >= 0.04, "iris position varies by {:.3} of the eye width (at least 0.04)", default.iris);
    assert!(default.saccades >= 2, "{} saccades in 10 s (every 1–4 s)", default.saccades);
    let ratio = lively.iter().sum::<f32>() / stable.iter().sum::<f32>();
    assert!((1.25..1.9).contains(&ratio), "expressive moves the head {ratio:.2}× as much as the default (about 1.5×)");
}

/// Isolated words, each after a pause, and what each must show.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Shape {
    Rounded,
    Spread,
    Open,
    LipTeeth,
    Bilabial,
}

const WORDS: [(&str, Shape); 12] = [
    ("you", Shape::Rounded),
    ("who", Shape::Rounded),
    ("no", Shape::Rounded),
    ("two", Shape::Rounded),
    ("see", Shape::Spread),
    ("me", Shape::Spread),
    ("tea", Shape::Spread),
    ("father", Shape::Open),
    ("hot", Shape::Open),
    ("far", Shape::Open),
    ("five", Shape::LipTeeth),
    ("mom", Shape::Bilabial),
];

/// Per word, as MediaPipe's own face mesh reads the video: the narrowest
/// and widest mouth relative to its width at rest, and the deepest chin
/// drop (outer-eye-corner distances).
fn word_shapes(voice: &str) -> Vec<(Shape, f32, f32, f32)> {
    let text: Vec<String> = WORDS.iter().map(|(w, _)| format!("{w}.")).collect();
    let text = text.join(" <break time=\"700ms\"/> ");
    let speech = speech::synthesize(&text, voice, Default::default()).expect("speech");
    assert_eq!(speech.words.len(), WORDS.len(), "one timed word each: {:?}", speech.words);
    let photo = decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode");
    let dir = tempfile::tempdir().expect("temp");
    let video = render_video(&format!("words-{voice}"), &photo, &speech, square(Expression::STABLE), dir.path());
    let measures = mediapipe_measures(&video, &speech.words, dir.path());
    let rows = measures["words"].as_array().expect("a table of words");
    assert_eq!(rows.len(), WORDS.len(), "every word measured");
    let number = |row: &serde_json::Value, key: &str| row[key].as_f64().unwrap_or(f64::NAN) as f32;
    WORDS
        .iter()
        .zip(rows)
        .map(|(&(_, shape), row)| {
            (shape, number(row, "narrowest"), number(row, "widest"), number(row, "max_chin_drop"))
        })
        .collect()
}

fn assert_words_shape_the_lips(voice: &str) {
    let shapes = word_shapes(voice);
    for ((word, _), &(shape, narrowest, widest, chin)) in WORDS.iter().zip(&shapes) {
        eprintln!(
            "{voice} {word:>7} ({shape:?}): width {:.0}%…{:.0}% of rest, chin drop {chin:.3} (MediaPipe)",
            narrowest * 100.0,
            widest * 100.0
        );
    }
    // Before this work MediaPipe read rounded words 8–13% narrower than at
    // rest, spread ones 6–10% wider, open vowels a chin drop of 0.11–0.13.
    // Each class is asserted on its words together (their mean), since a
    // single short word of the neural voice, whose timing varies from run to
    // run, may shape the mouth a little less; every word must still show its
    // shape, and none may drop the chin further than a person can.
    let mean = |class: Shape, value: fn(&(Shape, f32, f32, f32)) -> f32| {
        let values: Vec<f32> = shapes.iter().filter(|s| s.0 == class).map(value).collect();
        values.iter().sum::<f32>() / values.len() as f32
    };
    for ((word, _), &(shape, narrowest, widest, chin)) in WORDS.iter().zip(&shapes) {
        match shape {
            Shape::Rounded => {
                assert!(narrowest <= 0.9, "{voice}: “{word}” narrows the mouth to {narrowest:.2} of rest")
            }
            Shape::Spread => assert!(widest >= 1.015, "{voice}: “{word}” widens the mouth to {widest:.2} of rest"),
            _ => {}
        }
        assert!(chin <= 0.18, "{voice}: “{word}” drops the chin by {chin:.3} eye distances (at most 0.18)");
    }
    // Rounded words' mean ran 0.73–0.80 over 11 runs of the neural voice
    // (its noise changes their timing from run to run): 0.82 leaves room
    // for that and still fails well short of the 0.87–0.92 of before.
    let rounded = mean(Shape::Rounded, |s| s.1);
    assert!(rounded <= 0.82, "{voice}: rounded words narrow the mouth to {rounded:.2} of rest on average");
    let spread = mean(Shape::Spread, |s| s.2);
    assert!(spread >= 1.05, "{voice}: spread words widen the mouth to {spread:.2} of rest on average");
    let open = mean(Shape::Open, |s| s.3);
    assert!((0.10..=0.18).contains(&open), "{voice}: open vowels drop the chin by {open:.3} eye distances on average");
}

#[test]
fn words_shape_the_lips_neural_voice() {
    assert_words_shape_the_lips(speech::DEFAULT_VOICE_ID);
}

#[test]
fn words_shape_the_lips_espeak_voice() {
    assert_words_shape_the_lips("en-us-female");
}
