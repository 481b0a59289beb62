//! `mouthpiece render`: one video from the command line, with a progress bar.

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pipeline::{Studio, VideoSpec};
use std::path::PathBuf;

#[derive(Args)]
pub struct RenderArgs {
    /// Portrait photo (PNG, JPEG or WebP).
    #[arg(long)]
    photo: PathBuf,
    /// What the person says.
    #[arg(long)]
    text: String,
    /// Voice id (see `mouthpiece voices`).
    #[arg(long, default_value = speech::DEFAULT_VOICE_ID)]
    voice: String,
    /// Speaking rate, 0.5 to 1.5 times normal.
    #[arg(long, default_value_t = 1.0)]
    speed: f32,
    /// Pitch shift, -50 to 50 (50 is half an octave up).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pitch: f32,
    /// Delivery for voices that support it: Excited, Friendly, Serious, Soothing or Broadcaster.
    #[arg(long)]
    emotion: Option<String>,
    /// Output size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    size: (u32, u32),
    /// Background colour around the photo.
    #[arg(long, default_value = "#ffffff")]
    background: String,
    /// How the photo is cut out: the whole photo, a square or a circle around the head.
    #[arg(long, value_enum, default_value_t = Frame::Full)]
    frame: Frame,
    /// Size of the photo in the frame: 1 fits it, 2 doubles it (0–2].
    #[arg(long, default_value_t = 1.0)]
    scale: f32,
    /// More head motion ("expressive") or the default ("stable").
    #[arg(long)]
    expressive: bool,
    /// A resting smile.
    #[arg(long)]
    happy: bool,
    /// Cut the photo's own background away so the background colour shows.
    #[arg(long)]
    matting: bool,
    /// Output MP4 (a JPEG thumbnail is written beside it).
    #[arg(short = 'o', long)]
    output: PathBuf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Frame {
    Full,
    Square,
    Circle,
}

pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(|| format!("'{text}' is not WIDTHxHEIGHT, e.g. 720x406"))?;
    let parse = |v: &str| v.trim().parse::<u32>().map_err(|_| format!("'{text}' is not WIDTHxHEIGHT, e.g. 720x406"));
    Ok((parse(w)?, parse(h)?))
}

pub fn run(args: RenderArgs) -> Result<()> {
    let background = pipeline::parse_colour(&args.background)?;
    let mut spec = VideoSpec::new(args.size.0, args.size.1, background)?;
    if !(args.scale > 0.0 && args.scale <= 2.0) {
        bail!("--scale must be above 0 and at most 2");
    }
    spec.layout = pipeline::Layout {
        scale: args.scale,
        frame: match args.frame {
            Frame::Full => pipeline::PhotoFrame::Full,
            Frame::Square => pipeline::PhotoFrame::Square,
            Frame::Circle => pipeline::PhotoFrame::Circle,
        },
        ..pipeline::Layout::default()
    };
    spec.matting = args.matting;
    let motion = if args.expressive { pipeline::Expression::EXPRESSIVE } else { pipeline::Expression::STABLE };
    spec.expression =
        pipeline::Expression { smile: if args.happy { pipeline::Expression::HAPPY_SMILE } else { 0.0 }, ..motion };
    if spec.width != args.size.0 || spec.height != args.size.1 {
        eprintln!("note: H.264 needs even sides; rendering {}x{}", spec.width, spec.height);
    }
    if args.output.extension().and_then(|e| e.to_str()) != Some("mp4") {
        bail!("the output file must end in .mp4");
    }
    let bytes = std::fs::read(&args.photo).with_context(|| format!("reading {}", args.photo.display()))?;
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<18} [{bar:40}] {percent:>3}% {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("analysing face");
    let studio = Studio::new()?;
    let photo = studio.decode(&bytes)?;
    let rig = studio.train(&photo)?;
    if rig.faces_found > 1 {
        bar.println(format!("{} faces found; animating the largest", rig.faces_found));
    }
    let emotion = args.emotion.as_deref().map(speech::Emotion::parse).transpose()?;
    let options = speech::SpeechOptions { speed: args.speed, pitch: args.pitch, emotion };
    // The voice speaks while the frames are drawn.
    let (speech, _) = pipeline::speak_while_drawing(&args.text, &args.voice, options);
    bar.set_message("speaking and drawing");
    let thumbnail = args.output.with_extension("jpg");
    let scene = pipeline::Scene {
        photo: &photo,
        rig: &rig,
        speech: pipeline::SceneSpeech::Arriving(speech),
        spec: spec.clone(),
    };
    let done = studio.render_scenes(
        vec![scene],
        pipeline::OutputFiles { video: &args.output, thumbnail: &thumbnail, gif: None },
        &mut |f| bar.set_position((f * 1000.0) as u64),
    )?;
    bar.finish_with_message("done");
    println!(
        "{} ({:.2} s, {} frames at {}x{}), thumbnail {}",
        done.video.display(),
        done.duration,
        done.frames,
        spec.width,
        spec.height,
        done.thumbnail.display()
    );
    Ok(())
}
