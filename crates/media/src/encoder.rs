//! Streaming encoding: raw frames go to ffmpeg's stdin as they are drawn,
//! so rendering and encoding overlap. RGB frames become H.264 + AAC in an
//! MP4; RGBA frames (a video with a transparent background) become VP9 with
//! its alpha channel + Opus in a WebM, the one common format that keeps it.

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

pub struct Encoder {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<JoinHandle<String>>,
    frame_len: usize,
}

impl Encoder {
    /// Starts ffmpeg. Width and height must be even (yuv420p).
    pub fn start(settings: &EncodeSettings) -> Result<Encoder, MediaError> {
        let mut command = Command::new("ffmpeg");
        command.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]);
        let (input_format, channels) = if settings.alpha { ("rgba", 4) } else { ("rgb24", 3) };
        command.args(["-f", "rawvideo", "-pix_fmt", input_format, "-s"]);
        command.arg(format!("{}x{}", settings.width, settings.height));
        command.args(["-framerate", &settings.fps.to_string(), "-i", "pipe:0"]);
        if let Some(audio) = &settings.audio {
            command.arg("-i").arg(audio);
            command.args(["-map", "0:v:0", "-map", "1:a:0"]);
            if settings.alpha {
                command.args(["-c:a", "libopus", "-b:a", "96k", "-ar", "48000"]);
            } else {
                command.args(["-c:a", "aac", "-b:a", "128k", "-ar", "44100"]);
            }
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
        Ok(Encoder { child, stdin, stderr, frame_len: (settings.width * settings.height * channels) as usize })
    }

    /// Sends one frame (RGB24, or RGBA for a video with alpha).
    pub fn write_frame(&mut self, rgb: &[u8]) -> Result<(), MediaError> {
        if rgb.len() != self.frame_len {
            return Err(MediaError::ToolFailed {
                tool: "ffmpeg",
                message: format!("frame of {} bytes, expected {}", rgb.len(), self.frame_len),
            });
        }
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(MediaError::ToolFailed { tool: "ffmpeg", message: "encoder already finished".into() });
        };
        if let Err(error) = stdin.write_all(rgb) {
            // A broken pipe means ffmpeg quit; its own message says why.
            return Err(self.failure().unwrap_or(MediaError::Io(error)));
        }
        Ok(())
    }

    /// Closes the input and waits for ffmpeg to write the file.
    pub fn finish(mut self) -> Result<(), MediaError> {
        drop(self.stdin.take());
        match self.failure() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Waits for ffmpeg and turns a non-zero exit into an error with its message.
    fn failure(&mut self) -> Option<MediaError> {
        drop(self.stdin.take());
        let status = match self.child.wait() {
            Ok(status) => status,
            Err(error) => return Some(MediaError::Io(error)),
        };
        let message = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        (!status.success())
            .then(|| MediaError::ToolFailed { tool: "ffmpeg", message: format!("{status}: {}", message.trim()) })
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // An encoder dropped mid-way (an error elsewhere) must not leave ffmpeg running.
        if self.stdin.take().is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
