//! Reading a media file's streams with `ffprobe`.

use crate::{MediaError, spawn_error};
use serde::Deserialize;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Deserialize)]
pub struct StreamInfo {
    pub codec_type: String,
    pub codec_name: String,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    #[serde(default)]
    pub pix_fmt: Option<String>,
    /// As ffprobe writes it, e.g. "25/1".
    #[serde(default)]
    pub avg_frame_rate: String,
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub nb_frames: Option<String>,
}

impl StreamInfo {
    pub fn frame_rate(&self) -> Option<f64> {
        let (num, den) = self.avg_frame_rate.split_once('/')?;
        let (num, den): (f64, f64) = (num.parse().ok()?, den.parse().ok()?);
        (den > 0.0).then(|| num / den)
    }

    pub fn duration_seconds(&self) -> Option<f64> {
        self.duration.as_deref()?.parse().ok()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Format {
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    format_name: String,
}

#[derive(Debug, Clone)]
pub struct MediaInfo {
    pub streams: Vec<StreamInfo>,
    pub duration: f64,
    pub format_name: String,
}

impl MediaInfo {
    pub fn streams_of(&self, codec_type: &str) -> Vec<&StreamInfo> {
        self.streams.iter().filter(|s| s.codec_type == codec_type).collect()
    }
}

#[derive(Deserialize)]
struct ProbeOutput {
    #[serde(default)]
    streams: Vec<StreamInfo>,
    format: Option<Format>,
}

/// Streams and duration of a media file.
pub fn probe(path: &Path) -> Result<MediaInfo, MediaError> {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_streams", "-show_format"])
        .arg(path)
        .output()
        .map_err(|e| spawn_error("ffprobe", e))?;
    if !output.status.success() {
        return Err(MediaError::ToolFailed {
            tool: "ffprobe",
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let parsed: ProbeOutput = serde_json::from_slice(&output.stdout)
        .map_err(|e| MediaError::ToolFailed { tool: "ffprobe", message: e.to_string() })?;
    let format = parsed.format.unwrap_or(Format { duration: None, format_name: String::new() });
    Ok(MediaInfo {
        streams: parsed.streams,
        duration: format.duration.and_then(|d| d.parse().ok()).unwrap_or(0.0),
        format_name: format.format_name,
    })
}
