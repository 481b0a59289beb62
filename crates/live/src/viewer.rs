//! A WHEP viewer in Rust: `str0m` on the receiving side, for the load
//! benchmark to watch sessions as a browser would, counting the frames and
//! sound that arrive and how regularly they come.

use crate::LiveError;
use crate::link::Link;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::{Candidate, Event, Rtc, RtcConfig};

/// What a viewer saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Watched {
    /// Seconds counted.
    pub seconds: f64,
    pub video_frames: u64,
    pub audio_packets: u64,
    /// Frames that came more than 60 ms after the one before.
    pub late_frames: u64,
}

impl Watched {
    pub fn fps(&self) -> f64 {
        if self.seconds > 0.0 { self.video_frames as f64 / self.seconds } else { 0.0 }
    }
}

/// A viewer that has made its offer.
pub struct Viewer {
    rtc: Rtc,
    socket: std::net::UdpSocket,
    pending: SdpPendingOffer,
    video: Mid,
}

impl Viewer {
    /// A receive-only offer for video and sound, from a UDP port of `host`.
    pub fn offer(host: IpAddr) -> Result<(Viewer, String), LiveError> {
        let mut rtc = RtcConfig::new().clear_codecs().enable_h264(true).enable_opus(true, false).build(Instant::now());
        let socket = std::net::UdpSocket::bind(SocketAddr::new(host, 0)).map_err(LiveError::network)?;
        let candidate =
            Candidate::host(socket.local_addr().map_err(LiveError::network)?, "udp").map_err(LiveError::network)?;
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        let video = api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        let (offer, pending) = api.apply().ok_or_else(|| LiveError::BadOffer("nothing to offer".into()))?;
        Ok((Viewer { rtc, socket, pending, video }, offer.to_sdp_string()))
    }

    /// Takes the server's answer and counts what arrives for `span`,
    /// starting `warm_up` after the first frame (connecting and the first
    /// keyframe are not what is measured).
    pub async fn watch(self, answer: &str, warm_up: Duration, span: Duration) -> Result<Watched, LiveError> {
        let Viewer { mut rtc, socket, pending, video } = self;
        let answer = SdpAnswer::from_sdp_string(answer).map_err(|e| LiveError::BadOffer(e.to_string()))?;
        rtc.sdp_api().accept_answer(pending, answer).map_err(|e| LiveError::BadOffer(e.to_string()))?;
        let mut link = Link::new(rtc, socket)?;
        let mut watched = Watched::default();
        let (mut first, mut last): (Option<Instant>, Option<Instant>) = (None, None);
        // Nothing at all within 20 s is a failure, not a slow start.
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            let now = Instant::now();
            match first {
                Some(first) if now >= first + warm_up + span => break,
                None if now >= give_up => return Err(LiveError::Network("no frame arrived within 20 s".into())),
                _ => {}
            }
            let pumped = link
                .pump(|event| {
                    let Event::MediaData(data) = event else { return };
                    if data.mid != video {
                        watched.audio_packets += 1;
                        return;
                    }
                    let at = Instant::now();
                    let counted_from = *first.get_or_insert(at) + warm_up;
                    if at < counted_from {
                        return;
                    }
                    if last.is_some_and(|last| at - last > Duration::from_millis(60)) {
                        watched.late_frames += 1;
                    }
                    last = Some(at);
                    watched.video_frames += 1;
                })
                .await?;
            let Some(deadline) = pumped else { break };
            let end = first.map_or(give_up, |first| first + warm_up + span);
            link.next(deadline.min(end), std::future::pending::<()>()).await?;
        }
        watched.seconds = span.as_secs_f64();
        Ok(watched)
    }
}
