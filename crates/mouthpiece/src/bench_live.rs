//! `mouthpiece bench --live N`: N live sessions at 512×512 on this machine,
//! each watched by a WebRTC viewer (str0m, receiving as a browser would),
//! with half of them speaking at any time (our neural voice, sentence by
//! sentence). Reports the frame rate and late frames each viewer saw, the
//! ticks the sessions drew late, and the machine's CPU per session.

use anyhow::{Context, Result, anyhow};
use live::{Mode, Session, SessionSpec, Viewer, Watched};
use pipeline::{Studio, VideoSpec};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// The side of the square video (LiveAvatar's "medium").
const SIZE: u32 = 512;
/// About four seconds of speech; speakers take turns every `TURN`.
const LINE: &str = "Thanks for waiting. Let me look into that for you right away.";
const TURN: Duration = Duration::from_secs(4);
/// Time to connect and settle before anything is counted.
const WARM_UP: Duration = Duration::from_secs(3);

/// Busy and total CPU time of the whole machine so far (clock ticks).
fn machine_cpu() -> Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let fields: Vec<u64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

pub fn run(sessions: usize, seconds: u64, photo_bytes: &[u8]) -> Result<()> {
    live::init();
    let studio = Studio::new()?;
    let photo = studio.decode(photo_bytes)?;
    let rig = studio.train(&photo)?;
    speech::neural::preload()?;
    let mut spec = VideoSpec::new(SIZE, SIZE, [255, 255, 255])?;
    spec.layout = pipeline::Layout::around_face(&rig, (SIZE, SIZE), 7.0);
    let host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let span = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Runtime::new()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let (watched, stats, cpu) = runtime.block_on(async {
        let mut running = Vec::with_capacity(sessions);
        let mut viewers = Vec::with_capacity(sessions);
        for index in 0..sessions {
            let session = Session::start(SessionSpec {
                renderer: studio.frame_renderer(&photo, &rig, &spec)?,
                size: SIZE,
                mode: Mode::Full,
                voice_id: speech::DEFAULT_VOICE_ID.to_string(),
                max_duration: span + Duration::from_secs(60),
                idle_timeout: Duration::from_secs(60),
                host,
                seed: index as u64,
                expression: pipeline::Expression::default(),
            })?;
            let (viewer, offer) = Viewer::offer(host)?;
            let (_, answer) = session.add_viewer(&offer)?;
            viewers.push(tokio::spawn(async move { viewer.watch(&answer, WARM_UP, span).await }));
            running.push(session);
        }
        // Everyone connected and past the first keyframe before the clock starts.
        tokio::time::sleep(WARM_UP).await;
        let before = machine_cpu()?;
        let frames_before: Vec<(u64, u64)> =
            running.iter().map(|s| (s.stats().frames, s.stats().late_frames)).collect();
        let turns = (span.as_secs_f64() / TURN.as_secs_f64()).ceil() as usize;
        for turn in 0..turns {
            for (index, session) in running.iter().enumerate() {
                if (index + turn) % 2 == 0 {
                    session.speak_text(LINE, &format!("turn-{turn}"))?;
                }
            }
            tokio::time::sleep(TURN).await;
        }
        let after = machine_cpu()?;
        let stats: Vec<(u64, u64)> = running
            .iter()
            .zip(&frames_before)
            .map(|(s, &(frames, late))| (s.stats().frames - frames, s.stats().late_frames - late))
            .collect();
        let mut watched: Vec<Watched> = Vec::new();
        for viewer in viewers {
            watched.push(viewer.await.map_err(|e| anyhow!("a viewer task failed: {e}"))??);
        }
        for session in &running {
            session.stop();
        }
        let share = (after.0 - before.0) as f64 / (after.1 - before.1).max(1) as f64;
        Ok::<_, anyhow::Error>((watched, stats, share * cores as f64))
    })?;
    let fps: Vec<f64> = watched.iter().map(Watched::fps).collect();
    let received: u64 = watched.iter().map(|w| w.video_frames).sum();
    let late_received: u64 = watched.iter().map(|w| w.late_frames).sum();
    let ticks: u64 = stats.iter().map(|s| s.0).sum();
    let late_ticks: u64 = stats.iter().map(|s| s.1).sum();
    let min_fps = fps.iter().copied().fold(f64::INFINITY, f64::min);
    let mean_fps = fps.iter().sum::<f64>() / fps.len().max(1) as f64;
    let late_share = late_received as f64 / received.max(1) as f64;
    println!("live sessions at {SIZE}×{SIZE}, each with a viewer, half speaking at any time, {seconds} s:");
    println!("  sessions                         {sessions}");
    println!("  frames per second, each viewer   mean {mean_fps:.2}, lowest {min_fps:.2}");
    println!("  frames arriving > 60 ms late     {:.2} % ({late_received} of {received})", 100.0 * late_share);
    println!(
        "  ticks drawn > 40 ms late         {:.2} % ({late_ticks} of {ticks})",
        100.0 * late_ticks as f64 / ticks.max(1) as f64
    );
    println!(
        "  machine CPU                      {cpu:.2} of {cores} cores, {:.3} cores per session",
        cpu / sessions.max(1) as f64
    );
    let holds = min_fps >= 24.5 && late_share < 0.01;
    println!("  holds 25 fps with < 1 % late     {}", if holds { "yes" } else { "no" });
    Ok(())
}
