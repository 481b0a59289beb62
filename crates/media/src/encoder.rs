//! Streaming encoding: raw frames go to ffmpeg's stdin as they are drawn,
//! so rendering and encoding overlap. RGB frames become H.264 + AAC in an
//! MP4; RGBA frames (a video with a transparent background) become VP9 with
//! its alpha channel + Opus in a WebM, the one common format that keeps it.
//! The same frames can feed a second ffmpeg at once that makes the GIF
//! preview of the video's start, so no pass decodes the video again.

use crate::{MediaError, spawn_error};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::JoinHandle;

#[derive(Debug, Clone)]
pub struct EncodeSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Audio to mux (any format ffmpeg reads); `None` for a silent video.
    pub audio: Option<PathBuf>,
    /// Frames come as RGBA and the output is a WebM with an alpha channel.
    pub alpha: bool,
    pub output: PathBuf,
}

/// The video encoder: frames in, the finished file when `finish` returns.
pub struct Encoder {
    sink: FrameSink,
}

impl Encoder {
    /// Starts ffmpeg. Width and height must be even (yuv420p).
    pub fn start(settings: &EncodeSettings) -> Result<Encoder, MediaError> {
        let mut command = raw_frames_command(settings.width, settings.height, settings.alpha, settings.fps);
        if let Some(audio) = &settings.audio {
            command.arg("-i").arg(audio);
            command.args(["-map", "0:v:0", "-map", "1:a:0"]).args(audio_codec(settings.alpha));
        }
        if settings.alpha {
            // Real-time speed settings: VP9 is many times slower than x264 otherwise.
            command.args(["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-auto-alt-ref", "0"]);
            command.args(["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-crf", "30", "-b:v", "0"]);
        } else {
            command.args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]);
            command.args(["-movflags", "+faststart"]);
        }
        command.arg(&settings.output);
        let sink = FrameSink::spawn(command, frame_len(settings.width, settings.height, settings.alpha))?;
        Ok(Encoder { sink })
    }

    /// Sends one frame (RGB24, or RGBA for a video with alpha).
    pub fn write_frame(&mut self, frame: &[u8]) -> Result<(), MediaError> {
        self.sink.write_frame(frame)
    }

    /// Closes the input and waits for ffmpeg to write the file.
    pub fn finish(self) -> Result<(), MediaError> {
        self.sink.finish()
    }
}

/// The GIF preview: a short looping GIF of the start of a video, `width`
/// pixels wide at 10 frames a second, with its own palette (transparent
/// where RGBA frames are).
#[derive(Debug, Clone)]
pub struct GifSettings {
    /// The size, layout and rate of the frames offered.
    pub frame_width: u32,
    pub frame_height: u32,
    pub alpha: bool,
    pub fps: u32,
    /// Seconds of the video's start it shows.
    pub seconds: f32,
    /// The GIF's width (its height keeps the frames' shape).
    pub width: u32,
    pub output: PathBuf,
}

/// The rate of every GIF preview.
const GIF_FPS: u32 = 10;

pub struct GifPreview {
    sink: Option<FrameSink>,
    fps: u32,
    /// Frames of the GIF taken so far, and how many it has.
    taken: u32,
    length: u32,
}

impl GifPreview {
    pub fn start(settings: &GifSettings) -> Result<GifPreview, MediaError> {
        let GifSettings { frame_width, frame_height, alpha, .. } = *settings;
        let mut command = raw_frames_command(frame_width, frame_height, alpha, GIF_FPS);
        let filter = format!(
            "scale={}:-2:flags=lanczos,split[a][b];[a]palettegen=max_colors=128[p];[b][p]paletteuse",
            settings.width
        );
        command.args(["-vf", &filter, "-loop", "0", "-f", "gif"]).arg(&settings.output);
        let sink = FrameSink::spawn(command, frame_len(frame_width, frame_height, alpha))?;
        let length = ((settings.seconds * GIF_FPS as f32).round() as u32).max(1);
        Ok(GifPreview { sink: Some(sink), fps: settings.fps.max(1), taken: 0, length })
    }

    /// Offers the video's frame number `index` (frames come in order): the
    /// preview keeps the ones that fall on its own, slower beat.
    pub fn offer(&mut self, index: usize, frame: &[u8]) -> Result<(), MediaError> {
        let due = (f64::from(self.taken) * f64::from(self.fps) / f64::from(GIF_FPS)).round() as usize;
        let Some(sink) = self.sink.as_mut().filter(|_| index == due && self.taken < self.length) else {
            return Ok(());
        };
        sink.write_frame(frame)?;
        self.taken += 1;
        if self.taken == self.length {
            // All in: ffmpeg can write the GIF while the video goes on.
            sink.close_input();
        }
        Ok(())
    }

    /// Waits for the GIF to be written (a video shorter than the preview
    /// gives a shorter GIF).
    pub fn finish(mut self) -> Result<(), MediaError> {
        match self.sink.take() {
            Some(sink) => sink.finish(),
            None => Ok(()),
        }
    }
}

/// The sound of every video: AAC in an MP4, Opus in a WebM (with alpha).
pub(crate) fn audio_codec(alpha: bool) -> [&'static str; 6] {
    if alpha {
        ["-c:a", "libopus", "-b:a", "96k", "-ar", "48000"]
    } else {
        ["-c:a", "aac", "-b:a", "128k", "-ar", "44100"]
    }
}

fn frame_len(width: u32, height: u32, alpha: bool) -> usize {
    (width * height * if alpha { 4 } else { 3 }) as usize
}

/// An ffmpeg command whose first input is raw frames on stdin.
fn raw_frames_command(width: u32, height: u32, alpha: bool, fps: u32) -> Command {
    let mut command = Command::new("ffmpeg");
    command.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]);
    command.args(["-f", "rawvideo", "-pix_fmt", if alpha { "rgba" } else { "rgb24" }, "-s"]);
    command.arg(format!("{width}x{height}"));
    command.args(["-framerate", &fps.to_string(), "-i", "pipe:0"]);
    command
}

/// A running ffmpeg that reads raw frames of one size on its stdin.
struct FrameSink {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<JoinHandle<String>>,
    frame_len: usize,
    /// ffmpeg has exited and been waited for.
    exited: bool,
}

impl FrameSink {
    fn spawn(mut command: Command, frame_len: usize) -> Result<FrameSink, MediaError> {
        command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| spawn_error("ffmpeg", e))?;
        let stdin = child.stdin.take();
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        });
        Ok(FrameSink { child, stdin, stderr, frame_len, exited: false })
    }

    fn write_frame(&mut self, frame: &[u8]) -> Result<(), MediaError> {
        if frame.len() != self.frame_len {
            return Err(MediaError::ToolFailed {
                tool: "ffmpeg",
                message: format!("frame of {} bytes, expected {}", frame.len(), self.frame_len),
            });
        }
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(MediaError::ToolFailed { tool: "ffmpeg", message: "encoder already finished".into() });
        };
        if let Err(error) = stdin.write_all(frame) {
            // A broken pipe means ffmpeg quit; its own message says why.
            return Err(self.failure().unwrap_or(MediaError::Io(error)));
        }
        Ok(())
    }

    /// Ends the input: ffmpeg finishes its file on its own.
    fn close_input(&mut self) {
        drop(self.stdin.take());
    }

    fn finish(mut self) -> Result<(), MediaError> {
        match self.failure() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Closes the input, waits for ffmpeg and turns a non-zero exit into an
    /// error with its message.
    fn failure(&mut self) -> Option<MediaError> {
        self.close_input();
        let status = match self.child.wait() {
            Ok(status) => {
                self.exited = true;
                status
            }
            Err(error) => return Some(MediaError::Io(error)),
        };
        let message = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        (!status.success())
            .then(|| MediaError::ToolFailed { tool: "ffmpeg", message: format!("{status}: {}", message.trim()) })
    }
}

impl Drop for FrameSink {
    fn drop(&mut self) {
        // A sink dropped mid-way (an error elsewhere) must not leave ffmpeg running.
        if !self.exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
