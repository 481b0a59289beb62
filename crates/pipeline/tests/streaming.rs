//! Drawing while the voice still speaks gives the very video that drawing
//! after it would: the same frames, the same sound, the same length. The
//! neural voice hands its speech over sentence by sentence (and a `<break>`
//! as a pause of its own); the same speech, known in full, is then drawn
//! at once and the two videos compared frame by frame.

mod support;

use pipeline::{OutputFiles, Scene, SceneSpeech, SpeechOverlap, Studio, VideoSpec};
use support::{ASTRONAUT, decode};

const TEXT: &str = "The first part is short. The second part takes a little longer to say, with more words \
    in it. <break time=\"700ms\"/> Is this the end? Yes, this is the end of it.";

#[test]
fn speech_spoken_while_drawing_gives_the_same_video() {
    // Drawing while speaking, whatever the machine's cores.
    let studio = Studio::new().expect("models").with_speech_overlap(SpeechOverlap::Always);
    let photo = face::decode_photo(ASTRONAUT, face::PhotoLimits::default()).expect("photo");
    let rig = studio.train(&photo).expect("face");
    let dir = tempfile::tempdir().expect("temp");
    let spec = VideoSpec::new(320, 240, [255, 255, 255]).expect("spec");
    let options = speech::SpeechOptions::default();

    let (arriving, voice) = pipeline::speak_while_drawing(TEXT, speech::DEFAULT_VOICE_ID, options);
    let streamed = dir.path().join("streamed.mp4");
    let gif = dir.path().join("streamed.gif");
    let files = OutputFiles { video: &streamed, thumbnail: &dir.path().join("s.jpg"), gif: Some(&gif) };
    let mut fractions = Vec::new();
    let scene = Scene { photo: &photo, rig: &rig, speech: SceneSpeech::Arriving(arriving), spec: spec.clone() };
    let second = studio.render_scenes(vec![scene], files, &mut |f| fractions.push(f)).expect("render while speaking");
    voice.join().expect("the voice finished");
    assert!(second.timings.waiting_for_speech > std::time::Duration::ZERO, "the drawing waited for the voice");
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "progress never goes back");
    assert_eq!(fractions.last().copied(), Some(1.0));
    assert_eq!(second.speeches.len(), 1);
    let whole = &second.speeches[0];
    let words: Vec<&str> = whole.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(words.first().copied(), Some("The"));
    assert_eq!(words.last().copied(), Some("it"), "every sentence arrived");

    let at_once = dir.path().join("at-once.mp4");
    let files = OutputFiles { video: &at_once, thumbnail: &dir.path().join("a.jpg"), gif: None };
    let mut steps = 0;
    let first = studio.render(&photo, &rig, whole, spec.clone(), files, &mut |_| steps += 1).expect("render");
    assert_eq!(steps, first.frames, "progress is told frame by frame, when the speech is known at once too");
    assert_eq!(fractions.len(), second.frames, "and while it arrives");
    assert_eq!(second.frames, first.frames);
    assert_eq!(second.frames, animate::frame_count(whole.duration()));
    let (a, b) = (decode(&at_once, 320, 240), decode(&streamed, 320, 240));
    assert_eq!(a.frames.len(), first.frames, "every frame encoded");
    assert_eq!(a.frames.len(), b.frames.len());
    for (index, (x, y)) in a.frames.iter().zip(&b.frames).enumerate() {
        assert!(x == y, "frame {index} differs");
    }
    assert_eq!(a.samples, b.samples, "the same sound");
    let info = media::probe(&streamed).expect("ffprobe");
    let (video, audio) = (info.streams_of("video")[0], info.streams_of("audio")[0]);
    assert_eq!((video.codec_name.as_str(), audio.codec_name.as_str()), ("h264", "aac"));
    let seconds = |s: &media::StreamInfo| s.duration_seconds().expect("duration");
    assert!((seconds(video) - seconds(audio)).abs() <= 0.065, "{} vs {}", seconds(video), seconds(audio));
    let preview = media::probe(&gif).expect("ffprobe the GIF");
    assert_eq!(preview.streams_of("video")[0].width, Some(320));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| !["at-once.mp4", "a.jpg", "streamed.mp4", "s.jpg", "streamed.gif"].contains(&name.as_str()))
        .collect();
    assert!(leftovers.is_empty(), "scratch files left behind: {leftovers:?}");

    // Letting the voice finish first (as on a machine with few cores) gives
    // a whole video too, its sound in the one encode.
    let waiting = Studio::new().expect("models").with_speech_overlap(SpeechOverlap::Never);
    let (arriving, _) = pipeline::speak_while_drawing(TEXT, speech::DEFAULT_VOICE_ID, options);
    let third = dir.path().join("waited.mp4");
    let files = OutputFiles { video: &third, thumbnail: &dir.path().join("w.jpg"), gif: None };
    let scene = Scene { photo: &photo, rig: &rig, speech: SceneSpeech::Arriving(arriving), spec };
    let waited = waiting.render_scenes(vec![scene], files, &mut |_| {}).expect("render after speaking");
    assert_eq!(waited.frames, animate::frame_count(waited.speeches[0].duration()));
    let info = media::probe(&third).expect("ffprobe");
    let (video, audio) = (info.streams_of("video")[0], info.streams_of("audio")[0]);
    assert!((seconds(video) - seconds(audio)).abs() <= 0.065, "{} vs {}", seconds(video), seconds(audio));
    assert!((seconds(video) - waited.duration as f64).abs() < 0.05);
}
