//! `mouthpiece bench`: times every stage of a 10-second video at 720×406
//! and, in the same run, the floor: ffmpeg encoding the same frames alone.
//! Rendering overlaps encoding, so end-to-end should sit close to that floor.
//! Speech is timed for both engines; with `--python-piper`, Python's
//! `piper-tts` speaks the same text with the same model, interleaved with
//! ours, as the baseline for the neural voice.

use anyhow::{Context, Result};
use clap::Args;
use pipeline::{Studio, VideoSpec};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// About ten seconds of speech with the default voice.
const SENTENCE: &str = "Hello, and welcome to Mouthpiece. I am a photo that learned to talk. \
    Give me a portrait and a few lines of text, and I will say them, with my lips in sync and my eyes blinking.";

const BUNDLED_PORTRAIT: &[u8] = include_bytes!("../../../assets/portraits/astronaut.png");

#[derive(Args)]
pub struct BenchArgs {
    /// Photo to animate [default: the bundled portrait].
    #[arg(long)]
    photo: Option<PathBuf>,
    #[arg(long, default_value = "720x406", value_parser = crate::render::parse_size)]
    size: (u32, u32),
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// A Python with `piper-tts` installed (scripts/bench-python-piper.sh
    /// makes one in a throwaway virtualenv), to time it side by side.
    #[arg(long)]
    python_piper: Option<PathBuf>,
    /// Instead: run this many live sessions at 512×512, each watched by a
    /// WebRTC viewer, half of them speaking at any time.
    #[arg(long)]
    live: Option<usize>,
    /// Seconds the live sessions are watched.
    #[arg(long, default_value_t = 20)]
    live_seconds: u64,
}

/// The espeak-ng voice timed beside the neural one.
const FORMANT_VOICE: &str = "en-us-female";

/// Times Python Piper on the text in argv[2] with the model in argv[1]: one
/// warm-up, then one run, printing seconds (the caller repeats it).
const PYTHON_PIPER: &str = r#"
import sys, time
from piper import PiperVoice
voice = PiperVoice.load(sys.argv[1])
list(voice.synthesize(sys.argv[2]))
started = time.perf_counter()
chunks = list(voice.synthesize(sys.argv[2]))
print(time.perf_counter() - started)
"#;

/// One timed run of Python Piper, in a process of its own.
fn python_piper_run(python: &std::path::Path) -> Result<Duration> {
    let model = speech::neural::neural_dir().join("en_US-joe-medium.onnx");
    let output = std::process::Command::new(python)
        .args(["-c", PYTHON_PIPER])
        .arg(&model)
        .arg(SENTENCE)
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !output.status.success() {
        anyhow::bail!("Python Piper failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let seconds: f64 = String::from_utf8_lossy(&output.stdout).trim().parse().context("Python Piper's timing")?;
    Ok(Duration::from_secs_f64(seconds))
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

pub fn run(args: BenchArgs) -> Result<()> {
    let runs = args.runs.max(1);
    let bytes = match &args.photo {
        Some(path) => std::fs::read(path)?,
        None => BUNDLED_PORTRAIT.to_vec(),
    };
    if let Some(sessions) = args.live {
        return crate::bench_live::run(sessions, args.live_seconds, &bytes);
    }
    let spec = VideoSpec::new(args.size.0, args.size.1, [255, 255, 255])?;
    let work = tempfile_dir()?;
    let (studio, load) = time(Studio::new);
    let studio = studio?;
    let photo = studio.decode(&bytes)?;
    let mut analysis = Vec::new();
    let mut rig = None;
    for _ in 0..runs {
        let (result, elapsed) = time(|| studio.train(&photo));
        rig = Some(result?);
        analysis.push(elapsed);
    }
    let rig = rig.ok_or_else(|| anyhow::anyhow!("no runs"))?;
    let speak = |voice: &str| speech::synthesize(SENTENCE, voice, speech::SpeechOptions::default());
    // The first call loads the neural model.
    let (first, neural_load) = time(|| speak(speech::DEFAULT_VOICE_ID));
    let mut speech = first?;
    let (mut neural_times, mut formant_times, mut python_times) = (Vec::new(), Vec::new(), Vec::new());
    let mut formant_duration = 0.0;
    for _ in 0..runs {
        let (result, elapsed) = time(|| speak(speech::DEFAULT_VOICE_ID));
        speech = result?;
        neural_times.push(elapsed);
        let (result, elapsed) = time(|| speak(FORMANT_VOICE));
        formant_duration = result?.duration();
        formant_times.push(elapsed);
        if let Some(python) = &args.python_piper {
            python_times.push(python_piper_run(python)?);
        }
    }
    let (track, motion_time) = time(|| animate::motion_track(&speech, 1, spec.expression));
    let canvas = render::Canvas { width: spec.width, height: spec.height, background: spec.background };
    let renderer = render::Renderer::new(&photo, &rig, canvas, spec.layout, None, None);
    let audio = work.join("speech.wav");
    media::write_wav(&audio, speech.sample_rate, &speech.samples)?;

    let mut frames = vec![vec![0u8; renderer.frame_len()]; track.len()];
    let mut draw_times = Vec::new();
    for _ in 0..runs {
        let ((), elapsed) = time(|| {
            for (motion, frame) in track.iter().zip(frames.iter_mut()) {
                renderer.render_into(motion, frame);
            }
        });
        draw_times.push(elapsed);
    }
    let settings = media::EncodeSettings {
        width: spec.width,
        height: spec.height,
        fps: animate::FPS,
        audio: Some(audio.clone()),
        alpha: false,
        output: work.join("floor.mp4"),
    };
    let mut floor_times = Vec::new();
    let mut overlapped_times = Vec::new();
    let mut whole_times = Vec::new();
    let mut spoken_first_times = Vec::new();
    // Text to MP4 (and GIF) as the server makes it; the voice speaks while
    // the frames are drawn if `streamed`, else all of it first. Returns the
    // drawing and encoding time, without the wait for speech.
    let overlapping = Studio::new()?.with_speech_overlap(pipeline::SpeechOverlap::Always);
    let whole_video = |streamed: bool| -> Result<Duration> {
        let options = speech::SpeechOptions::default();
        let spoken;
        let speech = if streamed {
            let (arriving, _) = pipeline::speak_while_drawing(SENTENCE, speech::DEFAULT_VOICE_ID, options);
            pipeline::SceneSpeech::Arriving(arriving)
        } else {
            spoken = speech::synthesize(SENTENCE, speech::DEFAULT_VOICE_ID, options)?;
            pipeline::SceneSpeech::Ready(&spoken)
        };
        let scene = pipeline::Scene { photo: &photo, rig: &rig, speech, spec: spec.clone() };
        let files = pipeline::OutputFiles {
            video: &work.join("video.mp4"),
            thumbnail: &work.join("video.jpg"),
            gif: Some(&work.join("video.gif")),
        };
        let done = if streamed { &overlapping } else { &studio }.render_scenes(vec![scene], files, &mut |_| {})?;
        Ok(done.timings.render_and_encode - done.timings.waiting_for_speech)
    };
    for _ in 0..runs {
        // Interleave the floor and the real thing so machine noise hits both alike.
        let (result, elapsed) = time(|| -> Result<()> {
            let mut encoder = media::Encoder::start(&settings)?;
            for frame in &frames {
                encoder.write_frame(frame)?;
            }
            Ok(encoder.finish()?)
        });
        result?;
        floor_times.push(elapsed);
        // As the server does: the voice speaks while the frames are drawn
        // (and the GIF preview is made from them).
        let (result, elapsed) = time(|| whole_video(true));
        overlapped_times.push(result?);
        whole_times.push(elapsed);
        // The same, the voice speaking the whole text before the first frame.
        let (result, elapsed) = time(|| whole_video(false));
        result?;
        spoken_first_times.push(elapsed);
    }
    let _ = std::fs::remove_dir_all(&work);

    let frames_count = track.len() as f64;
    let draw = median(draw_times);
    let floor = median(floor_times);
    let overlapped = median(overlapped_times);
    let whole = median(whole_times);
    let spoken_first = median(spoken_first_times);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "Mouthpiece benchmark: {:.2} s of speech, {} frames at {}x{}, median of {runs} runs, {} CPU threads",
        speech.duration(),
        track.len(),
        spec.width,
        spec.height,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!();
    println!("| stage | time | rate |");
    println!("|---|---:|---:|");
    println!("| load face models (once per process) | {:.0} ms | |", ms(load));
    println!("| face analysis (training, once per avatar) | {:.1} ms | |", ms(median(analysis)));
    println!("| load the neural voice (once per process) | {:.0} ms | |", ms(neural_load));
    let rows = [
        ("speech, neural voice (Mouthpiece, ONNX Runtime)", speech.duration(), median(neural_times.clone())),
        ("speech, espeak-ng voice", formant_duration, median(formant_times)),
    ];
    for (name, duration, elapsed) in rows {
        println!("| {name} | {:.0} ms | {:.1}× real time |", ms(elapsed), duration as f64 / elapsed.as_secs_f64());
    }
    if !python_times.is_empty() {
        let python = median(python_times);
        println!(
            "| speech, neural voice (Python piper-tts, same model) | {:.0} ms | {:.1}× real time |",
            ms(python),
            speech.duration() as f64 / python.as_secs_f64()
        );
        println!();
        println!(
            "neural voice: Mouthpiece / Python Piper time = {:.2}",
            median(neural_times).as_secs_f64() / python.as_secs_f64()
        );
    }
    println!("| motion track | {:.2} ms | |", ms(motion_time));
    println!("| draw frames only | {:.0} ms | {:.0} fps |", ms(draw), frames_count / draw.as_secs_f64());
    println!(
        "| encode only (floor: ffmpeg on the same frames) | {:.0} ms | {:.0} fps |",
        ms(floor),
        frames_count / floor.as_secs_f64()
    );
    println!(
        "| draw + encode, overlapped | {:.0} ms | {:.0} fps |",
        ms(overlapped),
        frames_count / overlapped.as_secs_f64()
    );
    for (name, elapsed) in [("spoken while drawn", whole), ("spoken first, then drawn", spoken_first)] {
        println!(
            "| whole video: text to MP4 + GIF (neural voice, {name}) | {:.0} ms | {:.1}× real time |",
            ms(elapsed),
            speech.duration() as f64 / elapsed.as_secs_f64()
        );
    }
    println!();
    println!("draw + encode / encode-only floor = {:.2}", overlapped.as_secs_f64() / floor.as_secs_f64());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let default = if pipeline::SpeechOverlap::Auto.draws_while_speaking() {
        "draws while the voice speaks"
    } else {
        "lets the voice speak first"
    };
    println!("with {cores} cores the server {default}");
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("mouthpiece-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
