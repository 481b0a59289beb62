//! One viewer of a session over WebRTC, answered through WHEP: `str0m`
//! (sans-I/O) does ICE, DTLS, SRTP and packetisation; this module drives
//! it with a UDP socket on the tokio runtime and writes the session's
//! encoded frames and sound to it, with RTP times from the session's clock
//! so the browser keeps lips and sound together.

use crate::LiveError;
use crate::encode::AccessUnit;
use crate::link::Link;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::SdpOffer;
use str0m::format::Codec;
use str0m::media::{Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::{Candidate, Event, Rtc, RtcConfig};
use tokio::sync::mpsc;

/// What the session sends every viewer.
#[derive(Debug, Clone)]
pub(crate) enum Media {
    /// Frame `frame` of the session (25 a second from its start).
    Video { unit: Arc<AccessUnit>, frame: u64 },
    /// Opus packet `index` (50 a second from the session's start).
    Audio { packet: Arc<Vec<u8>>, index: u64 },
}

/// A viewer answered but not yet running.
pub(crate) struct Peer {
    rtc: Rtc,
    socket: std::net::UdpSocket,
}

impl Peer {
    /// Answers a WHEP offer: H.264 and Opus only, one host candidate on a
    /// fresh UDP port of `host`.
    pub(crate) fn answer(offer: &str, host: IpAddr) -> Result<(Peer, String), LiveError> {
        if !offer.trim_start().starts_with("v=0") {
            return Err(LiveError::BadOffer("an SDP offer starts with the line v=0".into()));
        }
        let offer = SdpOffer::from_sdp_string(offer).map_err(|e| {
            // The parser's own message names an address in memory on its first line.
            let message = e.to_string();
            let reason: Vec<&str> = message.lines().skip(1).map(str::trim).filter(|l| !l.is_empty()).collect();
            LiveError::BadOffer(reason.join("; "))
        })?;
        let mut rtc = RtcConfig::new()
            .clear_codecs()
            .enable_h264(true)
            .enable_opus(true, false)
            .set_ice_lite(true)
            .build(Instant::now());
        let socket = std::net::UdpSocket::bind(SocketAddr::new(host, 0))
            .map_err(|e| LiveError::Network(format!("could not open a UDP port on {host}: {e}")))?;
        let local = socket.local_addr().map_err(LiveError::network)?;
        let candidate = Candidate::host(local, "udp").map_err(LiveError::network)?;
        rtc.add_local_candidate(candidate);
        let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| LiveError::BadOffer(e.to_string()))?;
        Ok((Peer { rtc, socket }, one_stream(&answer.to_sdp_string())))
    }

    /// Runs the connection until the viewer leaves or its media channel
    /// closes. `connected` is called once media can flow.
    pub(crate) async fn run(
        self,
        origin: Instant,
        mut media: mpsc::UnboundedReceiver<Media>,
        connected: impl FnOnce() + Send,
    ) -> Result<(), LiveError> {
        let mut link = Link::new(self.rtc, self.socket)?;
        let mut tracks = Tracks::default();
        let mut connected = Some(connected);
        loop {
            let pumped = link
                .pump(|event| match event {
                    Event::MediaAdded(added) => tracks.add(added.mid, added.kind),
                    Event::Connected => {
                        if let Some(connected) = connected.take() {
                            connected();
                        }
                    }
                    _ => {}
                })
                .await?;
            let Some(deadline) = pumped else { return Ok(()) };
            match link.next(deadline, media.recv()).await? {
                Some(None) => {
                    link.rtc.disconnect();
                    return Ok(());
                }
                Some(Some(next)) if link.rtc.is_connected() => {
                    tracks.write(&mut link.rtc, origin, next).map_err(LiveError::network)?;
                }
                // A frame before the connection is up is not sent.
                None | Some(Some(_)) => {}
            }
        }
    }
}

/// The answer with the video and the sound in one media stream, under
/// one CNAME: a browser keeps lips and sound in step only for tracks of
/// the same stream, and str0m names each track's stream at random.
fn one_stream(answer: &str) -> String {
    let value_after = |prefix: &str| {
        answer.lines().find_map(|line| {
            let at = line.find(prefix)?;
            line[at + prefix.len()..].split_whitespace().next().map(str::to_string)
        })
    };
    let (Some(stream), Some(cname)) = (value_after("a=msid:"), value_after(" cname:")) else {
        return answer.to_string();
    };
    let mut out = String::with_capacity(answer.len());
    for line in answer.split_inclusive('\n') {
        let rewritten = if let Some(rest) = line.strip_prefix("a=msid:") {
            let track = rest.split_whitespace().nth(1).unwrap_or("");
            format!("a=msid:{stream} {track}\r\n")
        } else if let (Some(at), true) = (line.find(" msid:"), line.starts_with("a=ssrc:")) {
            let track = line[at + 6..].split_whitespace().nth(1).unwrap_or("");
            format!("{} msid:{stream} {track}\r\n", &line[..at])
        } else if let (Some(at), true) = (line.find(" cname:"), line.starts_with("a=ssrc:")) {
            format!("{} cname:{cname}\r\n", &line[..at])
        } else {
            line.to_string()
        };
        out.push_str(&rewritten);
    }
    out
}

/// The viewer's video and audio tracks and the payload types agreed for them.
#[derive(Default)]
struct Tracks {
    video: Option<(Mid, Option<Pt>)>,
    audio: Option<(Mid, Option<Pt>)>,
    /// Video waits for a keyframe: a decoder cannot start elsewhere.
    seen_keyframe: bool,
}

impl Tracks {
    fn add(&mut self, mid: Mid, kind: MediaKind) {
        match kind {
            MediaKind::Video if self.video.is_none() => self.video = Some((mid, None)),
            MediaKind::Audio if self.audio.is_none() => self.audio = Some((mid, None)),
            _ => {}
        }
    }

    fn write(&mut self, rtc: &mut Rtc, origin: Instant, media: Media) -> Result<(), str0m::RtcError> {
        match media {
            Media::Video { unit, frame } => {
                self.seen_keyframe |= unit.keyframe;
                let Some((mid, pt)) = self.video.as_mut() else { return Ok(()) };
                if !self.seen_keyframe {
                    return Ok(());
                }
                let Some(writer) = rtc.writer(*mid) else { return Ok(()) };
                // Constrained baseline in packetisation mode 1, which is what x264 makes.
                let pt = *pt.get_or_insert_with(|| {
                    let mut h264: Vec<_> = writer.payload_params().filter(|p| p.spec().codec == Codec::H264).collect();
                    h264.sort_by_key(|p| {
                        let format = p.spec().format;
                        (
                            format.packetization_mode != Some(1),
                            format.profile_level_id.map(|id| id >> 8) != Some(0x42e0),
                        )
                    });
                    h264.first().map_or(Pt::from(0), |p| p.pt())
                });
                let wallclock = origin + Duration::from_millis(frame * 40);
                writer.write(pt, wallclock, MediaTime::new(frame * 3600, Frequency::NINETY_KHZ), unit.data.clone())
            }
            Media::Audio { packet, index } => {
                let Some((mid, pt)) = self.audio.as_mut() else { return Ok(()) };
                let Some(writer) = rtc.writer(*mid) else { return Ok(()) };
                let pt = *pt.get_or_insert_with(|| {
                    writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map_or(Pt::from(0), |p| p.pt())
                });
                let wallclock = origin + Duration::from_millis(index * 20);
                writer.write(pt, wallclock, MediaTime::new(index * 960, Frequency::FORTY_EIGHT_KHZ), packet.to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_and_sound_share_one_stream_and_cname() {
        let answer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=msid:aaa t1\r\na=ssrc:1 cname:c1\r\n\
                      a=ssrc:1 msid:aaa t1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=msid:bbb t2\r\n\
                      a=ssrc:2 cname:c2\r\na=ssrc:2 msid:bbb t2\r\n";
        let joined = one_stream(answer);
        assert_eq!(
            joined,
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=msid:aaa t1\r\na=ssrc:1 cname:c1\r\n\
             a=ssrc:1 msid:aaa t1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=msid:aaa t2\r\n\
             a=ssrc:2 cname:c1\r\na=ssrc:2 msid:aaa t2\r\n"
        );
    }
}
