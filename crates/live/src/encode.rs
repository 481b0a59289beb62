//! The stream's encoders: ffmpeg processes fed frame by frame on stdin,
//! whose output is cut into what WebRTC sends. Video is x264 in its
//! zero-latency mode (constrained baseline, no B-frames, a keyframe every
//! second so a new viewer waits at most that long), wrapped in FLV because
//! FLV's tags carry their own length and ffmpeg writes each one the moment
//! the frame is encoded; the NAL units are turned back into Annex B with
//! the parameter sets before every keyframe. Sound is libopus in 20 ms
//! packets, one per Ogg page.

use crate::LiveError;
use std::io::{BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::JoinHandle;

/// One encoded video frame, Annex B, parameter sets in front of keyframes.
#[derive(Debug, Clone)]
pub struct AccessUnit {
    pub data: Vec<u8>,
    pub keyframe: bool,
}

/// An ffmpeg process taking raw input on stdin, its output read on a thread.
pub(crate) struct Encoder {
    child: Child,
    stdin: Option<ChildStdin>,
    reader: Option<JoinHandle<()>>,
}

impl Encoder {
    fn start(
        args: &[String],
        read: impl FnOnce(BufReader<std::process::ChildStdout>) + Send + 'static,
    ) -> Result<Encoder, LiveError> {
        let mut child = Command::new("ffmpeg")
            .args(
                ["-hide_banner", "-loglevel", "error", "-nostdin"]
                    .iter()
                    .map(|s| s.to_string())
                    .chain(args.iter().cloned()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| LiveError::Encoder(format!("could not start ffmpeg: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or_else(|| LiveError::Encoder("ffmpeg has no stdout".into()))?;
        let reader = std::thread::Builder::new()
            .name("live-encoder-out".into())
            .spawn(move || read(BufReader::with_capacity(1 << 16, stdout)))
            .map_err(|e| LiveError::Encoder(e.to_string()))?;
        Ok(Encoder { child, stdin, reader: Some(reader) })
    }

    /// Starts x264 for square frames of `size` pixels (RGB); each encoded frame goes to `each`.
    pub(crate) fn video(size: u32, mut each: impl FnMut(AccessUnit) + Send + 'static) -> Result<Encoder, LiveError> {
        let args = format!(
            "-f rawvideo -pix_fmt rgb24 -s {size}x{size} -r 25 -i - -pix_fmt yuv420p -threads 1 \
             -c:v libx264 -preset ultrafast -tune zerolatency -profile:v baseline -b:v {}k -maxrate {}k -bufsize {}k \
             -x264-params keyint=25:min-keyint=25:scenecut=0 -flush_packets 1 -f flv -",
            size * 3,
            size * 4,
            size * 2
        );
        let args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
        Encoder::start(&args, move |out| read_flv(out, &mut each))
    }

    /// Starts libopus for mono sound at 48 kHz; each 20 ms packet goes to `each`.
    pub(crate) fn audio(mut each: impl FnMut(Vec<u8>) + Send + 'static) -> Result<Encoder, LiveError> {
        // Raw sound needs no probing: without it ffmpeg reads megabytes before encoding anything.
        let args: Vec<String> =
            "-probesize 32 -analyzeduration 0 -f s16le -ar 48000 -ac 1 -i - -c:a libopus -application lowdelay -b:a 48k \
             -frame_duration 20 -page_duration 20000 -flush_packets 1 -f ogg -"
                .split_whitespace()
                .map(str::to_string)
                .collect();
        Encoder::start(&args, move |out| read_ogg(out, &mut each))
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), LiveError> {
        let stdin = self.stdin.as_mut().ok_or_else(|| LiveError::Encoder("the encoder is closed".into()))?;
        stdin.write_all(bytes).map_err(|e| LiveError::Encoder(format!("ffmpeg stopped taking input: {e}")))
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // Closing stdin lets ffmpeg end; a stuck one is killed.
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// Reads FLV tags until the stream ends, handing out each video frame.
fn read_flv(mut out: impl Read, each: &mut dyn FnMut(AccessUnit)) {
    let mut header = [0u8; 13];
    if out.read_exact(&mut header).is_err() || &header[..3] != b"FLV" {
        return;
    }
    let mut parameter_sets: Vec<u8> = Vec::new();
    let mut tag = [0u8; 11];
    let mut body = Vec::new();
    while out.read_exact(&mut tag).is_ok() {
        let size = u32::from_be_bytes([0, tag[1], tag[2], tag[3]]) as usize;
        body.resize(size + 4, 0);
        if out.read_exact(&mut body).is_err() {
            return;
        }
        // Video tags of H.264: frame type, codec 7, packet type, composition time.
        if tag[0] != 9 || size < 5 || body[0] & 0x0f != 7 {
            continue;
        }
        let keyframe = body[0] >> 4 == 1;
        let payload = &body[5..size];
        match body[1] {
            0 => parameter_sets = annex_b_parameter_sets(payload),
            1 => {
                let mut data = if keyframe { parameter_sets.clone() } else { Vec::new() };
                let mut rest = payload;
                while rest.len() >= 4 {
                    let length = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                    let Some(unit) = rest.get(4..4 + length) else { break };
                    data.extend_from_slice(&[0, 0, 0, 1]);
                    data.extend_from_slice(unit);
                    rest = &rest[4 + length..];
                }
                each(AccessUnit { data, keyframe });
            }
            _ => {}
        }
    }
}

/// The SPS and PPS of an AVCDecoderConfigurationRecord, as Annex B.
fn annex_b_parameter_sets(record: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(&count) = record.get(5) else { return out };
    let mut at = 6;
    let read_sets = |count: usize, at: &mut usize, out: &mut Vec<u8>| {
        for _ in 0..count {
            let Some(length) = record.get(*at..*at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize) else {
                return;
            };
            let Some(set) = record.get(*at + 2..*at + 2 + length) else { return };
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(set);
            *at += 2 + length;
        }
    };
    read_sets(usize::from(count & 0x1f), &mut at, &mut out);
    if let Some(&pps) = record.get(at) {
        at += 1;
        read_sets(usize::from(pps), &mut at, &mut out);
    }
    out
}

/// Reads Ogg pages until the stream ends, handing out each Opus packet
/// after the two header packets.
fn read_ogg(mut out: impl Read, each: &mut dyn FnMut(Vec<u8>)) {
    let mut header = [0u8; 27];
    let mut packet = Vec::new();
    let mut seen = 0usize;
    while out.read_exact(&mut header).is_ok() {
        if &header[..4] != b"OggS" {
            return;
        }
        let mut lacing = vec![0u8; usize::from(header[26])];
        if out.read_exact(&mut lacing).is_err() {
            return;
        }
        let mut body = vec![0u8; lacing.iter().map(|&l| usize::from(l)).sum()];
        if out.read_exact(&mut body).is_err() {
            return;
        }
        let mut at = 0;
        for &length in &lacing {
            packet.extend_from_slice(&body[at..at + usize::from(length)]);
            at += usize::from(length);
            // A lacing value under 255 ends a packet.
            if length < 255 {
                seen += 1;
                let whole = std::mem::take(&mut packet);
                if seen > 2 {
                    each(whole);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    #[test]
    fn each_frame_comes_out_as_soon_as_it_goes_in() {
        let (sender, units) = mpsc::channel();
        let mut encoder = Encoder::video(128, move |unit| {
            let _ = sender.send((unit, Instant::now()));
        })
        .expect("ffmpeg");
        let frame = vec![128u8; 128 * 128 * 3];
        for index in 0..30 {
            let sent = Instant::now();
            encoder.write(&frame).expect("write");
            let (unit, at) =
                units.recv_timeout(Duration::from_secs(10)).expect("a frame comes out before the next goes in");
            assert!(at >= sent);
            // NAL units: SPS (7) and PPS (8) before each keyframe, every 25 frames.
            let first_nal = unit.data[4] & 0x1f;
            assert_eq!(unit.keyframe, index % 25 == 0, "frame {index}");
            assert_eq!(first_nal == 7, unit.keyframe, "frame {index}: NAL {first_nal}");
            assert_eq!(&unit.data[..4], &[0, 0, 0, 1]);
        }
    }

    #[test]
    fn sound_comes_out_in_20_ms_packets() {
        let (sender, packets) = mpsc::channel();
        let mut encoder = Encoder::audio(move |packet| {
            let _ = sender.send(packet);
        })
        .expect("ffmpeg");
        let tone: Vec<u8> =
            (0..1920 * 10).flat_map(|i| ((8000.0 * (i as f32 * 0.05).sin()) as i16).to_le_bytes()).collect();
        // 40 ms at a time, as a session sends it.
        for chunk in tone.chunks(3840) {
            encoder.write(chunk).expect("write");
            std::thread::sleep(Duration::from_millis(40));
        }
        // The input stays open: what the encoder holds back is at most a
        // packet or two, not everything until the end. (The wait is long
        // only because a loaded machine may start ffmpeg slowly.)
        let mut count = 0;
        while count < 18 {
            let Ok(packet) = packets.recv_timeout(Duration::from_secs(10)) else { break };
            assert!(!packet.is_empty() && packet.len() < 400);
            count += 1;
        }
        assert!(count >= 18, "0.4 s of sound gives 20 packets, {count} came while the input was open");
        drop(encoder);
    }
}
