//! `mouthpiece bench`: times every stage of a 10-second video at 720×406
//! and, in the same run, the floor: ffmpeg encoding the same frames alone.
//! Rendering overlaps encoding, so end-to-end should sit close to that floor.

use anyhow::Result;
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
    let mut speech_times = Vec::new();
    let mut speech = None;
    for _ in 0..runs {
        let (result, elapsed) =
            time(|| speech::synthesize(SENTENCE, speech::DEFAULT_VOICE_ID, speech::SpeechOptions::default()));
        speech = Some(result?);
        speech_times.push(elapsed);
    }
    let speech = speech.ok_or_else(|| anyhow::anyhow!("no runs"))?;
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
        output: work.join("floor.mp4"),
    };
    let mut floor_times = Vec::new();
    let mut overlapped_times = Vec::new();
    let mut whole_times = Vec::new();
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
        let (result, elapsed) = time(|| -> Result<Duration> {
            let speech = speech::synthesize(SENTENCE, speech::DEFAULT_VOICE_ID, speech::SpeechOptions::default())?;
            let done = studio.render(
                &photo,
                &rig,
                &speech,
                spec.clone(),
                pipeline::OutputFiles { video: &work.join("video.mp4"), thumbnail: &work.join("video.jpg") },
                &mut |_| {},
            )?;
            Ok(done.timings.render_and_encode)
        });
        overlapped_times.push(result?);
        whole_times.push(elapsed);
    }
    let _ = std::fs::remove_dir_all(&work);

    let frames_count = track.len() as f64;
    let draw = median(draw_times);
    let floor = median(floor_times);
    let overlapped = median(overlapped_times);
    let whole = median(whole_times);
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
    let speaking = median(speech_times);
    println!(
        "| speech synthesis | {:.0} ms | {:.0}× real time |",
        ms(speaking),
        speech.duration() as f64 / speaking.as_secs_f64()
    );
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
    println!(
        "| whole video: text to MP4 | {:.0} ms | {:.1}× real time |",
        ms(whole),
        speech.duration() as f64 / whole.as_secs_f64()
    );
    println!();
    println!("draw + encode / encode-only floor = {:.2}", overlapped.as_secs_f64() / floor.as_secs_f64());
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("mouthpiece-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
