//! Objective lip sync: render real MP4s, run the face landmark model on
//! every decoded frame, and compare the mouth opening with the loudness of
//! the decoded audio track. The best-matching offset must be within one
//! frame and the correlation at least 0.6, on the bundled portrait and on
//! photos made from it (cropped and turned by 20°; greyscale; with its
//! smiling open mouth shut, so the teeth are painted, not the photo's; a
//! small face in a large picture), and at the smallest and largest sizes
//! (256×256 and 1920×1080).

mod support;

use face::{PhotoLimits, decode_photo};
use image::RgbImage;
use pipeline::VideoSpec;
use support::{ASTRONAUT, CLOSED_MOUTH, Decoded, Seen, cropped_and_turned, follow, pearson, render_and_decode};
const SENTENCE: &str = "Good morning! My name is Eileen, and I flew the space shuttle. \
    Today I will tell you about the view from orbit, which is simply wonderful.";
/// The size most of these videos are made at.
const SIZE: (u32, u32) = (640, 480);

/// (best offset in frames, correlation at it): a positive offset means the
/// mouth moves after the sound.
fn lip_sync(name: &str, photo: &RgbImage, (width, height): (u32, u32)) -> (i32, f32) {
    let speech =
        speech::synthesize(SENTENCE, speech::DEFAULT_VOICE_ID, speech::SpeechOptions::default()).expect("speech");
    let dir = tempfile::tempdir().expect("temp");
    let spec = VideoSpec::new(width, height, [255, 255, 255]).expect("spec");
    let Decoded { frames, samples } = render_and_decode(&format!("lipsync-{name}"), photo, &speech, spec, dir.path());
    // The face is followed from frame to frame as MediaPipe follows it
    // (a small face in a large frame is below what the detector finds
    // reliably, but the landmark model reads it). The model now and then
    // cannot read a frame; such a frame keeps the previous opening, and
    // there may be only a few.
    let mut unreadable = 0;
    let mut last = 0.0f32;
    let opening: Vec<f32> = follow(&frames)
        .iter()
        .map(|seen| match seen {
            Some(Seen { points, .. }) => {
                let distance = |a: usize, b: usize| (points[a][0] - points[b][0]).hypot(points[a][1] - points[b][1]);
                last = distance(13, 14) / distance(33, 263);
                last
            }
            None => {
                unreadable += 1;
                last
            }
        })
        .collect();
    assert!(unreadable * 50 <= frames.len(), "{unreadable} of {} frames unreadable by the face model", frames.len());
    let per_frame = 16_000 / 25;
    let loudness: Vec<f32> = (0..frames.len())
        .map(|i| {
            let window = &samples[(i * per_frame).min(samples.len())..((i + 1) * per_frame).min(samples.len())];
            (window.iter().map(|s| s * s).sum::<f32>() / window.len().max(1) as f32).sqrt()
        })
        .collect();
    (-5i32..=5)
        .map(|offset| {
            let (mouth, sound): (Vec<f32>, Vec<f32>) = (0..frames.len() as i32)
                .filter_map(|i| {
                    let j = i + offset;
                    (j >= 0 && (j as usize) < frames.len()).then(|| (opening[j as usize], loudness[i as usize]))
                })
                .unzip();
            (offset, pearson(&mouth, &sound))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("offsets")
}

fn assert_in_sync(name: &str, photo: &RgbImage, size: (u32, u32)) {
    let (offset, correlation) = lip_sync(&name.replace(' ', "-"), photo, size);
    eprintln!("lip sync {name} at {}×{}: best offset {offset} frames, correlation {correlation:.3}", size.0, size.1);
    assert!(offset.abs() <= 1, "{name}: mouth is {offset} frames off the sound");
    assert!(correlation >= 0.6, "{name}: mouth opening correlates {correlation:.3} with loudness");
}

fn astronaut() -> RgbImage {
    decode_photo(ASTRONAUT, PhotoLimits::default()).expect("decode")
}

#[test]
fn bundled_portrait_is_in_sync() {
    assert_in_sync("astronaut", &astronaut(), SIZE);
}

#[test]
fn cropped_turned_portrait_is_in_sync() {
    let turned = cropped_and_turned(&astronaut());
    assert_in_sync("cropped and turned", &turned, SIZE);
}

#[test]
fn greyscale_portrait_is_in_sync() {
    let grey = image::DynamicImage::ImageLuma8(image::DynamicImage::ImageRgb8(astronaut()).to_luma8()).to_rgb8();
    assert_in_sync("greyscale", &grey, SIZE);
}

#[test]
fn closed_mouth_portrait_is_in_sync() {
    // The portrait with its smiling open mouth shut (assets/portraits): speech
    // opens onto painted teeth, not the photo's own.
    let photo = decode_photo(CLOSED_MOUTH, PhotoLimits::default()).expect("decode");
    assert_in_sync("closed mouth", &photo, SIZE);
}

#[test]
fn small_face_in_a_large_picture_is_in_sync() {
    // The portrait off-centre in a picture three times as wide and twice
    // as high, the rest filled with the colour of its corner: the face is
    // about an eighth of the picture's width, and the video is as large as
    // we make.
    let photo = astronaut();
    let mut picture = RgbImage::from_pixel(photo.width() * 3, photo.height() * 2, *photo.get_pixel(0, 0));
    image::imageops::replace(&mut picture, &photo, i64::from(photo.width()) * 3 / 2, i64::from(photo.height()) / 2);
    assert_in_sync("small face", &picture, (1920, 1080));
}

#[test]
fn smallest_video_is_in_sync() {
    assert_in_sync("astronaut 256", &astronaut(), (256, 256));
}
