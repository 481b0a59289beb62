//! Live avatars: a talking photo streamed in real time over WebRTC.
//!
//! A [`Session`] ticks 25 times a second. Each tick its [`stage`] decides
//! the face's motion and 40 ms of sound (idle motion between utterances;
//! our voice speaking text sentence by sentence, or the app's own audio
//! arriving in chunks), the batch renderer draws the frame, and two ffmpeg
//! encoders (x264 zero-latency, libopus) turn picture and sound into what
//! every viewer's WebRTC connection ([`str0m`], answered through WHEP)
//! sends. The server only wires HTTP and the control WebSocket to this.
//!
//! ```text
//! orders ─► stage (animate::LiveMotion + utterances) ─► render::Renderer ─► x264 ─┐
//!                  └──────────────── sound 48 kHz ───────────────────► libopus ─┴► viewers (str0m)
//! ```

mod encode;
mod link;
mod peer;
mod resample;
mod session;
pub mod stage;
mod viewer;

pub use session::{Session, SessionEvent, SessionSpec, SessionState, SessionStats};
pub use viewer::{Viewer, Watched};

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use thiserror::Error;

/// The app's own voice comes as PCM at this rate (LiveAvatar's).
pub const APP_AUDIO_RATE: u32 = 24_000;

#[derive(Debug, Error)]
pub enum LiveError {
    #[error("the SDP offer could not be read or answered: {0}")]
    BadOffer(String),
    #[error("network: {0}")]
    Network(String),
    #[error("encoder: {0}")]
    Encoder(String),
    #[error("the session has ended")]
    Closed,
    #[error("{0}")]
    WrongMode(String),
    #[error("{0}")]
    BadText(String),
    #[error("{0}")]
    BadAudio(String),
}

impl LiveError {
    /// A network failure, from whatever error the socket or WebRTC gave.
    pub(crate) fn network(error: impl std::fmt::Display) -> LiveError {
        LiveError::Network(error.to_string())
    }
}

/// Who speaks: our voice from text (FULL), or the app's own audio (LITE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Full,
    Lite,
}

impl Mode {
    pub fn parse(name: &str) -> Option<Mode> {
        match name {
            "FULL" => Some(Mode::Full),
            "LITE" => Some(Mode::Lite),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "FULL",
            Mode::Lite => "LITE",
        }
    }
}

/// LiveAvatar's `video_quality`: the side of the square video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    Low,
    Medium,
    High,
}

impl Quality {
    pub fn parse(name: &str) -> Option<Quality> {
        match name {
            "low" => Some(Quality::Low),
            "medium" => Some(Quality::Medium),
            "high" => Some(Quality::High),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Low => "low",
            Quality::Medium => "medium",
            Quality::High => "high",
        }
    }

    pub fn size(self) -> u32 {
        match self {
            Quality::Low => 384,
            Quality::Medium => 512,
            Quality::High => 720,
        }
    }
}

/// Reads raw PCM (signed 16-bit little-endian mono); refuses what is
/// plainly something else: an odd number of bytes, or a file (WAV, MP3,
/// Ogg, FLAC) instead of its samples.
pub fn pcm_samples(bytes: &[u8]) -> Result<Vec<i16>, LiveError> {
    const FILES: [(&[u8], &str); 5] = [
        (b"RIFF", "a WAV file"),
        (b"ID3", "an MP3 file"),
        (b"OggS", "an Ogg file"),
        (b"fLaC", "a FLAC file"),
        (&[0xff, 0xfb], "an MP3 file"),
    ];
    if let Some((_, what)) = FILES.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Err(LiveError::BadAudio(format!(
            "audio must be raw PCM (signed 16-bit little-endian, mono, 24 kHz), not {what}; send its samples without the header"
        )));
    }
    if bytes.is_empty() || !bytes.len().is_multiple_of(2) {
        return Err(LiveError::BadAudio(format!(
            "audio must be raw PCM with 2 bytes per sample; {} bytes is not a whole number of samples",
            bytes.len()
        )));
    }
    Ok(bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect())
}

/// The address viewers reach this machine at when none is configured: the
/// one its default route leaves from (no packet is sent to find it), or
/// loopback on a machine without a network.
pub fn default_host() -> IpAddr {
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|socket| {
            socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
            socket.local_addr()
        })
        .map(|address| address.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Installs the crypto provider WebRTC's DTLS uses; call once before any session.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_is_read_and_files_are_refused() {
        assert_eq!(pcm_samples(&[1, 0, 0xff, 0xff]).expect("pcm"), vec![1, -1]);
        let wav = pcm_samples(b"RIFF\x24\x00\x00\x00WAVE").expect_err("a WAV");
        assert!(wav.to_string().contains("WAV"), "{wav}");
        assert!(pcm_samples(&[1, 2, 3]).is_err(), "odd length");
        assert!(pcm_samples(&[]).is_err(), "empty");
    }
}
