//! The drawing loop: takes each scene's speech as it arrives, draws the
//! frames its motion has settled, and streams them to the encoder (and the
//! first ones to the GIF preview) on a writer thread. Once every scene's
//! speech is whole, its sound is levelled and encoded on a thread of its
//! own while the drawing goes on; the two are joined when both are done.
//!
//! On a machine with few cores the voice and the encoder only take turns
//! at the CPU: there the drawing waits for the whole speech and the sound
//! goes into the one encode, which is quicker (see docs/benchmarks.md).

use crate::speaking::SceneSpeech;
use crate::{GIF_SECONDS, GIF_WIDTH, OutputFiles, PipelineError, RenderedVideo, StageTimings};
use animate::{Expression, MotionStream};
use image::RgbImage;
use media::{EncodeSettings, Encoder, GifPreview, GifSettings, MediaError};
use render::{Canvas, Renderer};
use speech::{Speech, SpeechError};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Frames in flight between the drawing thread and the ffmpeg writer.
const QUEUE_FRAMES: usize = 4;

/// The fewest cores on which drawing while the voice speaks is quicker
/// than letting it finish first (on 2 it was 5–8 % slower: the voice and
/// x264 then compete for the same cores, and the sound needs a pass of its own).
const CORES_TO_DRAW_WHILE_SPEAKING: usize = 4;

/// Whether the drawing starts before the speech is whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpeechOverlap {
    /// When the machine has the cores for it.
    #[default]
    Auto,
    Always,
    Never,
}

impl SpeechOverlap {
    /// Whether drawing starts before the speech is whole, on this machine.
    pub fn draws_while_speaking(self) -> bool {
        match self {
            SpeechOverlap::Auto => {
                std::thread::available_parallelism().map_or(1, |n| n.get()) >= CORES_TO_DRAW_WHILE_SPEAKING
            }
            SpeechOverlap::Always => true,
            SpeechOverlap::Never => false,
        }
    }
}

/// One scene on its way to frames.
pub(crate) struct Part {
    renderer: Renderer,
    motion: MotionStream,
    /// Where more speech comes from, until it has all come.
    pieces: Option<mpsc::Receiver<Result<Speech, SpeechError>>>,
    expected_frames: usize,
}

impl Part {
    pub(crate) fn new(renderer: Renderer, speech: SceneSpeech<'_>, seed: u64, expression: Expression) -> Part {
        let mut motion = MotionStream::new(seed, expression);
        let (pieces, expected_frames) = match speech {
            SceneSpeech::Ready(speech) => {
                motion.push(speech.clone());
                motion.finish();
                (None, animate::frame_count(speech.duration()))
            }
            SceneSpeech::Arriving(arriving) => (Some(arriving.pieces), animate::frame_count(arriving.expected_seconds)),
        };
        Part { renderer, motion, pieces, expected_frames }
    }

    /// Takes in the speech that has come (waiting for the next piece if
    /// `wait`); when the sender hangs up, the speech is whole.
    fn receive(&mut self, wait: bool) -> Result<(), PipelineError> {
        let Some(pieces) = &self.pieces else { return Ok(()) };
        loop {
            let next = if wait {
                pieces.recv().ok()
            } else {
                match pieces.try_recv() {
                    Ok(next) => Some(next),
                    Err(mpsc::TryRecvError::Empty) => return Ok(()),
                    Err(mpsc::TryRecvError::Disconnected) => None,
                }
            };
            match next {
                Some(Ok(piece)) => {
                    self.motion.push(piece);
                    if wait {
                        return Ok(());
                    }
                }
                Some(Err(error)) => return Err(error.into()),
                None => {
                    self.motion.finish();
                    self.pieces = None;
                    return Ok(());
                }
            }
        }
    }

    fn whole(&self) -> bool {
        self.pieces.is_none()
    }

    /// The scene's frames: as many as its speech needs once it is whole, a guess until then.
    fn frames(&self) -> usize {
        let known = self.motion.speech().map_or(0, |speech| animate::frame_count(speech.duration()));
        if self.whole() { known } else { known.max(self.expected_frames) }
    }
}

/// Where and what the render writes.
pub(crate) struct Outputs<'a> {
    pub files: OutputFiles<'a>,
    pub width: u32,
    pub height: u32,
    pub alpha: bool,
    pub overlap: SpeechOverlap,
}

/// Draws every scene and writes the video; `prepare` is the time already
/// spent placing the photos.
pub(crate) fn render(
    mut parts: Vec<Part>,
    outputs: Outputs<'_>,
    prepare: Duration,
    progress: &mut dyn FnMut(f32),
) -> Result<RenderedVideo, PipelineError> {
    let Outputs { files, width, height, alpha, overlap } = outputs;
    let started = Instant::now();
    let beside = |suffix: &str| files.video.with_extension(suffix);
    let (picture, sound) = if alpha {
        (beside("picture.webm"), beside("sound.webm"))
    } else {
        (beside("picture.mp4"), beside("sound.m4a"))
    };
    // Whatever happens below, no scratch file outlives the render.
    let mut scratch = ScratchFiles { paths: vec![beside("wav"), picture.clone(), sound.clone()], sound_job: None };
    let mut timings = StageTimings { prepare, ..StageTimings::default() };
    let mut sound_first = None;
    if !overlap.draws_while_speaking() || parts.iter().all(Part::whole) {
        let timed = Instant::now();
        for part in &mut parts {
            while !part.whole() {
                part.receive(true)?;
            }
        }
        timings.waiting_for_speech = timed.elapsed();
        sound_first =
            Some(join_sound(parts.iter().map(|part| part.motion.speech().cloned()).collect(), &beside("wav"))?);
    }
    // With the sound known, the one encode takes it; else the picture is encoded alone.
    let (audio, output) = match sound_first {
        Some(_) => (Some(beside("wav")), files.video.to_path_buf()),
        None => (None, picture.clone()),
    };
    let settings = EncodeSettings { width, height, fps: animate::FPS, audio, alpha, output };
    let gif = files.gif.map(|output| GifSettings {
        frame_width: width,
        frame_height: height,
        alpha,
        fps: animate::FPS,
        seconds: GIF_SECONDS,
        width: GIF_WIDTH,
        output: output.to_path_buf(),
    });
    let mut writer = FrameWriter::start(&settings, gif.as_ref())?;
    let (mut drawn, mut reported) = (0usize, 0.0f32);
    for current in 0..parts.len() {
        loop {
            // Take in what every scene has said so far: once all of it is
            // known, the sound is encoded while the drawing goes on.
            for part in &mut parts[current..] {
                part.receive(false)?;
            }
            if sound_first.is_none() && scratch.sound_job.is_none() && parts.iter().all(Part::whole) {
                let speeches = parts.iter().map(|part| part.motion.speech().cloned()).collect();
                let (wav, sound) = (beside("wav"), sound.clone());
                scratch.sound_job = Some(std::thread::spawn(move || {
                    let joined = join_sound(speeches, &wav)?;
                    let encoded = media::encode_audio(&wav, &sound, alpha);
                    let _ = std::fs::remove_file(&wav);
                    encoded?;
                    Ok(joined)
                }));
            }
            let part = &mut parts[current];
            if part.motion.is_done() {
                break;
            }
            let timed = Instant::now();
            let ready = part.motion.take_ready();
            timings.motion += timed.elapsed();
            if ready.is_empty() {
                let timed = Instant::now();
                part.receive(true)?;
                timings.waiting_for_speech += timed.elapsed();
                continue;
            }
            let total: usize = parts.iter().map(Part::frames).sum();
            for motion in &ready {
                let timed = Instant::now();
                let frame = writer.draw(&parts[current].renderer, motion);
                timings.draw += timed.elapsed();
                if drawn == 0 {
                    save_thumbnail(&frame, parts[current].renderer.canvas(), files.thumbnail)?;
                }
                if !writer.send(frame) {
                    return Err(writer.stopped());
                }
                drawn += 1;
                // Never backwards, though the guess of the length may grow.
                reported = reported.max(drawn as f32 / total.max(1) as f32);
                progress(reported.min(1.0));
            }
        }
    }
    let written = writer.finish();
    let made = match (sound_first, scratch.sound_job.take()) {
        (Some(made), _) => {
            written?;
            made
        }
        (None, Some(job)) => {
            written?;
            let made = job.join().map_err(|_| PipelineError::Scenes("the sound thread panicked".into()))??;
            media::mux(&picture, &sound, files.video)?;
            made
        }
        (None, None) => return Err(PipelineError::Scenes("the sound was never complete".into())),
    };
    timings.render_and_encode = started.elapsed();
    Ok(RenderedVideo {
        video: files.video.to_path_buf(),
        thumbnail: files.thumbnail.to_path_buf(),
        frames: drawn,
        duration: drawn as f32 / animate::FPS as f32,
        scene_starts: made.scene_starts,
        speeches: made.speeches,
        timings,
    })
}

/// Intermediate files of one render, removed when it ends, however it
/// ends: a sound thread still writing one is waited for first.
struct ScratchFiles {
    paths: Vec<PathBuf>,
    sound_job: Option<JoinHandle<Result<Sound, PipelineError>>>,
}

impl Drop for ScratchFiles {
    fn drop(&mut self) {
        if let Some(job) = self.sound_job.take() {
            let _ = job.join();
        }
        for path in &self.paths {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What the sound thread made besides the audio file.
struct Sound {
    scene_starts: Vec<f32>,
    speeches: Vec<Speech>,
}

/// Joins the scenes' speech (each padded with silence to its whole frames),
/// brings it to one level for the whole video, so scenes keep their
/// loudness relative to each other, and writes it to `wav`.
fn join_sound(speeches: Vec<Option<Speech>>, wav: &Path) -> Result<Sound, PipelineError> {
    let mut samples: Vec<i16> = Vec::new();
    let mut scene_starts = Vec::with_capacity(speeches.len());
    let mut whole = Vec::with_capacity(speeches.len());
    let mut sample_rate = None;
    for (index, speech) in speeches.into_iter().enumerate() {
        let speech = speech.ok_or_else(|| PipelineError::Scenes(format!("scene {} has no sound", index + 1)))?;
        let rate = *sample_rate.get_or_insert(speech.sample_rate);
        if speech.sample_rate != rate {
            return Err(PipelineError::Scenes(format!("scene {} differs in sample rate", index + 1)));
        }
        let start_frame = samples.len() * animate::FPS as usize / rate as usize;
        scene_starts.push(start_frame as f32 / animate::FPS as f32);
        samples.extend_from_slice(&speech.samples);
        let end_frame = start_frame + animate::frame_count(speech.duration());
        samples.resize(end_frame * rate as usize / animate::FPS as usize, 0);
        whole.push(speech);
    }
    let rate = sample_rate.unwrap_or(speech::SILENCE_SAMPLE_RATE);
    speech::audio::normalize_loudness(&mut samples, rate);
    media::write_wav(wav, rate, &samples)?;
    Ok(Sound { scene_starts, speeches: whole })
}

/// The writer thread and the buffers that go back and forth with it.
struct FrameWriter {
    full: Option<mpsc::SyncSender<Vec<u8>>>,
    empty: mpsc::Receiver<Vec<u8>>,
    thread: JoinHandle<Result<Encoder, MediaError>>,
}

impl FrameWriter {
    fn start(settings: &EncodeSettings, gif: Option<&GifSettings>) -> Result<FrameWriter, PipelineError> {
        let mut encoder = Encoder::start(settings)?;
        let mut gif = gif.map(GifPreview::start).transpose()?;
        let (full, full_rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE_FRAMES);
        let (empty_tx, empty) = mpsc::channel::<Vec<u8>>();
        let thread = std::thread::spawn(move || -> Result<Encoder, MediaError> {
            for (index, frame) in full_rx.into_iter().enumerate() {
                if let Some(gif) = gif.as_mut() {
                    gif.offer(index, &frame)?;
                }
                encoder.write_frame(&frame)?;
                // The drawing side may already be gone after an error; the buffer is then simply freed.
                let _ = empty_tx.send(frame);
            }
            if let Some(gif) = gif {
                gif.finish()?;
            }
            Ok(encoder)
        });
        Ok(FrameWriter { full: Some(full), empty, thread })
    }

    /// Draws a frame into a buffer the writer has finished with (or a new one).
    fn draw(&mut self, renderer: &Renderer, motion: &animate::FaceMotion) -> Vec<u8> {
        let mut frame = self.empty.try_recv().unwrap_or_default();
        frame.resize(renderer.frame_len(), 0);
        renderer.render_into(motion, &mut frame);
        frame
    }

    /// Hands a frame to the writer; false if it has stopped.
    fn send(&mut self, frame: Vec<u8>) -> bool {
        self.full.as_ref().is_some_and(|full| full.send(frame).is_ok())
    }

    /// Why the writer stopped early: its own error.
    fn stopped(self) -> PipelineError {
        match self.join() {
            Err(error) => error.into(),
            Ok(_) => MediaError::ToolFailed { tool: "ffmpeg", message: "encoder stopped early".into() }.into(),
        }
    }

    fn join(self) -> Result<Encoder, MediaError> {
        drop(self.full);
        self.thread
            .join()
            .map_err(|_| MediaError::ToolFailed { tool: "ffmpeg", message: "frame writer panicked".into() })?
    }

    /// Waits for every frame to be encoded.
    fn finish(self) -> Result<(), PipelineError> {
        self.join()?.finish()?;
        Ok(())
    }
}

/// The first frame as a JPEG (its colour only, when it has an alpha channel).
fn save_thumbnail(frame: &[u8], canvas: Canvas, path: &Path) -> Result<(), PipelineError> {
    let pixels = (canvas.width * canvas.height) as usize;
    let rgb = match frame.len() / pixels.max(1) {
        4 => frame.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        _ => frame.to_vec(),
    };
    let image = RgbImage::from_raw(canvas.width, canvas.height, rgb)
        .ok_or_else(|| PipelineError::Thumbnail("frame size mismatch".into()))?;
    image.save_with_format(path, image::ImageFormat::Jpeg).map_err(|e| PipelineError::Thumbnail(e.to_string()))
}
