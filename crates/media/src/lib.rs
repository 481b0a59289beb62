//! Media: small wrappers around the `ffmpeg` and `ffprobe` processes and
//! WAV files. Mouthpiece never links a codec; it streams raw frames to
//! ffmpeg's stdin and reads ffprobe's JSON.

mod encoder;
mod probe;

pub use encoder::{EncodeSettings, Encoder, GifPreview, GifSettings};
pub use probe::{MediaInfo, StreamInfo, probe};

use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MediaError {
    #[error("`{0}` was not found; install it (Debian: apt-get install ffmpeg)")]
    ToolMissing(&'static str),
    #[error("{tool} failed: {message}")]
    ToolFailed { tool: &'static str, message: String },
    #[error("media I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("WAV file error: {0}")]
    Wav(#[from] hound::Error),
}

/// Writes mono 16-bit PCM as a WAV file.
pub fn write_wav(path: &Path, sample_rate: u32, samples: &[i16]) -> Result<(), MediaError> {
    let spec =
        hound::WavSpec { channels: 1, sample_rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut writer = hound::WavWriter::create(path, spec)?;
    let mut samples_out = writer.get_i16_writer(samples.len() as u32);
    for &sample in samples {
        samples_out.write_sample(sample);
    }
    samples_out.flush()?;
    writer.finalize()?;
    Ok(())
}

/// Decodes any audio ffmpeg reads (MP3, WAV, M4A, the sound of an MP4) to
/// mono 16-bit PCM at `sample_rate`.
pub fn decode_audio(path: &Path, sample_rate: u32) -> Result<Vec<i16>, MediaError> {
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-vn", "-ac", "1", "-ar", &sample_rate.to_string(), "-f", "s16le", "-"])
        .output()
        .map_err(|e| spawn_error("ffmpeg", e))?;
    if !output.status.success() {
        return Err(MediaError::ToolFailed {
            tool: "ffmpeg",
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(output.stdout.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect())
}

/// Runs ffmpeg with `args`, turning a failure into its message.
fn ffmpeg(args: &[&std::ffi::OsStr]) -> Result<(), MediaError> {
    let output = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .map_err(|e| spawn_error("ffmpeg", e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(MediaError::ToolFailed {
            tool: "ffmpeg",
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// Encodes a sound file into a video's audio track on its own (AAC in an
/// `.m4a`, or Opus in a `.webm` for a video with alpha), to be joined to
/// the picture with [`mux`].
pub fn encode_audio(sound: &Path, output: &Path, alpha: bool) -> Result<(), MediaError> {
    let mut args: Vec<&std::ffi::OsStr> = vec!["-i".as_ref(), sound.as_os_str(), "-vn".as_ref()];
    args.extend(encoder::audio_codec(alpha).map(std::ffi::OsStr::new));
    args.push(output.as_os_str());
    ffmpeg(&args)
}

/// Joins a picture-only video and an audio track into `output` as they
/// are (no re-encoding), with the index at the front of an MP4 so that it
/// plays while it downloads.
pub fn mux(picture: &Path, audio: &Path, output: &Path) -> Result<(), MediaError> {
    ffmpeg(&[
        "-i".as_ref(),
        picture.as_os_str(),
        "-i".as_ref(),
        audio.as_os_str(),
        "-map".as_ref(),
        "0:v:0".as_ref(),
        "-map".as_ref(),
        "1:a:0".as_ref(),
        "-c".as_ref(),
        "copy".as_ref(),
        "-movflags".as_ref(),
        "+faststart".as_ref(),
        output.as_os_str(),
    ])
}

/// A copy of `video` with the SRT captions drawn into the picture.
pub fn burn_captions(video: &Path, srt: &Path, output: &Path) -> Result<(), MediaError> {
    // The subtitles filter parses its argument: quote the path for it.
    let escaped = srt.to_string_lossy().replace('\\', "\\\\").replace('\'', "\\'").replace(':', "\\:");
    let filter = format!("subtitles='{escaped}':force_style='FontSize=22,Outline=2'");
    ffmpeg(&[
        "-i".as_ref(),
        video.as_os_str(),
        "-vf".as_ref(),
        filter.as_ref(),
        "-c:v".as_ref(),
        "libx264".as_ref(),
        "-preset".as_ref(),
        "veryfast".as_ref(),
        "-crf".as_ref(),
        "20".as_ref(),
        "-pix_fmt".as_ref(),
        "yuv420p".as_ref(),
        "-c:a".as_ref(),
        "copy".as_ref(),
        "-movflags".as_ref(),
        "+faststart".as_ref(),
        output.as_os_str(),
    ])
}

/// Checks that ffmpeg and ffprobe can be started.
pub fn check_tools() -> Result<(), MediaError> {
    for tool in ["ffmpeg", "ffprobe"] {
        std::process::Command::new(tool)
            .arg("-version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|_| MediaError::ToolMissing(tool))?;
    }
    Ok(())
}

fn spawn_error(tool: &'static str, error: std::io::Error) -> MediaError {
    if error.kind() == std::io::ErrorKind::NotFound { MediaError::ToolMissing(tool) } else { MediaError::Io(error) }
}
