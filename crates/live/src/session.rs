//! A live session: a thread that ticks 25 times a second, takes the
//! app's orders, draws the face with the batch renderer, feeds the two
//! encoders, and hands what they make to every viewer. Sessions end when
//! stopped, when they reach their longest duration, or when nobody has
//! watched or kept them alive for a while; then every viewer is let go.

use crate::encode::Encoder;
use crate::peer::{Media, Peer};
use crate::stage::{Stage, StageEvent};
use crate::{LiveError, Mode};
use animate::Expression;
use rand::Rng;
use render::Renderer;
use speech::{SpeechError, SpeechOptions};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc as std_mpsc};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

/// How a session is made.
pub struct SessionSpec {
    /// Draws square frames of `size` pixels.
    pub renderer: Renderer,
    pub size: u32,
    pub mode: Mode,
    /// Our voice that speaks text (FULL mode).
    pub voice_id: String,
    pub max_duration: Duration,
    /// The session ends after this long with no viewer and no keep-alive.
    pub idle_timeout: Duration,
    /// The address viewers reach this machine's UDP ports at.
    pub host: IpAddr,
    pub seed: u64,
    pub expression: Expression,
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Connecting,
    Connected,
    Closed,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Connecting => "connecting",
            SessionState::Connected => "connected",
            SessionState::Closed => "closed",
        }
    }
}

/// What a session tells the app.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    State(SessionState),
    SpeakStarted(String),
    SpeakEnded(String),
    /// Something the app asked for failed later (the voice could not speak).
    Error {
        code: &'static str,
        message: String,
    },
}

/// Counters of a running session.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionStats {
    pub frames: u64,
    /// Frames drawn more than a frame's time after they were due.
    pub late_frames: u64,
    pub viewers: usize,
}

enum Command {
    Speak { text: String, event_id: String },
    Piece { event_id: String, piece: speech::Speech },
    VoiceDone { event_id: String, error: Option<SpeechError> },
    Audio { event_id: String, samples: Vec<i16> },
    AudioEnd { event_id: String },
    Interrupt,
    Stop,
}

struct Shared {
    commands: std_mpsc::Sender<Command>,
    events: broadcast::Sender<SessionEvent>,
    viewers: Mutex<HashMap<String, mpsc::UnboundedSender<Media>>>,
    state: Mutex<SessionState>,
    last_alive: Mutex<Instant>,
    origin: Instant,
    host: IpAddr,
    mode: Mode,
    frames: AtomicU64,
    late_frames: AtomicU64,
}

impl Shared {
    fn announce(&self, event: SessionEvent) {
        let _ = self.events.send(event);
    }

    fn set_state(&self, state: SessionState) {
        let mut current = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if *current != state && *current != SessionState::Closed {
            *current = state;
            self.announce(SessionEvent::State(state));
        }
    }

    fn send_to_viewers(&self, media: Media) {
        let mut viewers = self.viewers.lock().unwrap_or_else(|e| e.into_inner());
        viewers.retain(|_, viewer| viewer.send(media.clone()).is_ok());
    }

    fn touch(&self) {
        *self.last_alive.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn command(&self, command: Command) -> Result<(), LiveError> {
        self.commands.send(command).map_err(|_| LiveError::Closed)
    }
}

/// A running live session; cheap to clone.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

impl Session {
    /// Starts the session's clock, encoders and face.
    pub fn start(spec: SessionSpec) -> Result<Session, LiveError> {
        let (commands, orders) = std_mpsc::channel();
        let (events, _) = broadcast::channel(256);
        let origin = Instant::now();
        let shared = Arc::new(Shared {
            commands,
            events,
            viewers: Mutex::new(HashMap::new()),
            state: Mutex::new(SessionState::Connecting),
            last_alive: Mutex::new(origin),
            origin,
            host: spec.host,
            mode: spec.mode,
            frames: AtomicU64::new(0),
            late_frames: AtomicU64::new(0),
        });
        let frame_count = AtomicU64::new(0);
        let to_viewers = Arc::clone(&shared);
        let video = Encoder::video(spec.size, move |unit| {
            let frame = frame_count.fetch_add(1, Ordering::Relaxed);
            to_viewers.send_to_viewers(Media::Video { unit: Arc::new(unit), frame });
        })?;
        let packet_count = AtomicU64::new(0);
        let to_viewers = Arc::clone(&shared);
        let audio = Encoder::audio(move |packet| {
            let index = packet_count.fetch_add(1, Ordering::Relaxed);
            to_viewers.send_to_viewers(Media::Audio { packet: Arc::new(packet), index });
        })?;
        let running = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("live-session".into())
            .spawn(move || run(spec, running, orders, video, audio))
            .map_err(|e| LiveError::Encoder(e.to_string()))?;
        Ok(Session { shared })
    }

    /// Our voice speaks `text`, sentence by sentence, after anything already queued.
    pub fn speak_text(&self, text: &str, event_id: &str) -> Result<(), LiveError> {
        if self.shared.mode != Mode::Full {
            return Err(LiveError::WrongMode(
                "avatar.speak_text needs a FULL session; in LITE send agent.speak audio".into(),
            ));
        }
        speech::validate_text(text).map_err(|e| LiveError::BadText(e.to_string()))?;
        self.shared.command(Command::Speak { text: text.to_string(), event_id: event_id.to_string() })
    }

    /// A chunk of the app's own voice: raw PCM, signed 16-bit little-endian, mono, 24 kHz.
    pub fn speak_audio(&self, pcm: &[u8], event_id: &str) -> Result<(), LiveError> {
        let samples = crate::pcm_samples(pcm)?;
        self.shared.command(Command::Audio { event_id: event_id.to_string(), samples })
    }

    /// The app's voice for `event_id` is complete.
    pub fn speak_end(&self, event_id: &str) -> Result<(), LiveError> {
        self.shared.command(Command::AudioEnd { event_id: event_id.to_string() })
    }

    /// Stops speaking at once and drops what was queued.
    pub fn interrupt(&self) -> Result<(), LiveError> {
        self.shared.command(Command::Interrupt)
    }

    pub fn keep_alive(&self) {
        self.shared.touch();
    }

    /// Ends the session.
    pub fn stop(&self) {
        let _ = self.shared.command(Command::Stop);
    }

    pub fn state(&self) -> SessionState {
        *self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.shared.events.subscribe()
    }

    pub fn stats(&self) -> SessionStats {
        SessionStats {
            frames: self.shared.frames.load(Ordering::Relaxed),
            late_frames: self.shared.late_frames.load(Ordering::Relaxed),
            viewers: self.shared.viewers.lock().unwrap_or_else(|e| e.into_inner()).len(),
        }
    }

    /// Answers a viewer's WHEP offer; returns the viewer's id and the SDP
    /// answer. Must be called within a tokio runtime, which carries the media.
    pub fn add_viewer(&self, offer: &str) -> Result<(String, String), LiveError> {
        if self.state() == SessionState::Closed {
            return Err(LiveError::Closed);
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(LiveError::network)?;
        let (peer, answer) = Peer::answer(offer, self.shared.host)?;
        let id = format!("{:016x}", rand::rng().random::<u64>());
        let (sender, media) = mpsc::unbounded_channel();
        self.shared.viewers.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), sender);
        self.shared.touch();
        let (shared, viewer) = (Arc::clone(&self.shared), id.clone());
        runtime.spawn(async move {
            let connected = Arc::clone(&shared);
            let ended = peer.run(shared.origin, media, move || connected.set_state(SessionState::Connected)).await;
            if let Err(error) = ended {
                tracing::info!(%error, viewer, "a live viewer's connection failed");
            }
            shared.viewers.lock().unwrap_or_else(|e| e.into_inner()).remove(&viewer);
            shared.touch();
        });
        Ok((id, answer))
    }

    /// Lets a viewer go; false if there was no such viewer.
    pub fn remove_viewer(&self, id: &str) -> bool {
        self.shared.viewers.lock().unwrap_or_else(|e| e.into_inner()).remove(id).is_some()
    }
}

/// The session's clock: one tick per frame until the session ends.
fn run(
    spec: SessionSpec,
    shared: Arc<Shared>,
    orders: std_mpsc::Receiver<Command>,
    mut video: Encoder,
    mut audio: Encoder,
) {
    let SessionSpec { renderer, voice_id, max_duration, idle_timeout, seed, expression, .. } = spec;
    let mut stage = Stage::new(seed, expression);
    let mut frame = vec![0u8; renderer.frame_len()];
    // Each session draws on its own thread alone: sessions are the
    // parallelism, and row bands shared out to a common pool would only
    // spin waiting for each other.
    let drawing = rayon::ThreadPoolBuilder::new().num_threads(1).build().ok();
    let mut cancels: HashMap<String, Arc<AtomicBool>> = HashMap::new();
    let frame_time = Duration::from_millis(40);
    let origin = shared.origin;
    let mut stopped = false;
    for index in 0u32.. {
        let due = origin + frame_time * index;
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        } else if now - due > frame_time {
            shared.late_frames.fetch_add(1, Ordering::Relaxed);
        }
        while let Ok(command) = orders.try_recv() {
            match command {
                Command::Speak { text, event_id } => {
                    stage.open(&event_id, true);
                    let cancel = Arc::new(AtomicBool::new(false));
                    cancels.insert(event_id.clone(), Arc::clone(&cancel));
                    speak(&shared, text, event_id, voice_id.clone(), cancel);
                }
                Command::Piece { event_id, piece } => stage.push_speech(&event_id, piece),
                Command::VoiceDone { event_id, error } => {
                    cancels.remove(&event_id);
                    if let Some(error) = error {
                        shared.announce(SessionEvent::Error { code: "speech_failed", message: error.to_string() });
                    }
                    stage.close(&event_id);
                }
                Command::Audio { event_id, samples } => {
                    if !stage.is_open(&event_id) {
                        stage.open(&event_id, false);
                    }
                    stage.push_audio(&event_id, &samples, crate::APP_AUDIO_RATE);
                }
                Command::AudioEnd { event_id } => stage.close(&event_id),
                Command::Interrupt => {
                    for cancel in cancels.values() {
                        cancel.store(true, Ordering::Relaxed);
                    }
                    for event_id in stage.interrupt() {
                        shared.announce(SessionEvent::SpeakEnded(event_id));
                    }
                }
                Command::Stop => stopped = true,
            }
        }
        let idle_for = shared.last_alive.lock().map(|at| at.elapsed()).unwrap_or_default();
        let watched = !shared.viewers.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
        if stopped || now.duration_since(origin) >= max_duration || (!watched && idle_for >= idle_timeout) {
            break;
        }
        if watched {
            shared.touch();
        }
        let tick = stage.tick();
        for event in tick.events {
            shared.announce(match event {
                StageEvent::Started(id) => SessionEvent::SpeakStarted(id),
                StageEvent::Ended(id) => SessionEvent::SpeakEnded(id),
            });
        }
        match &drawing {
            Some(pool) => pool.install(|| renderer.render_into(&tick.motion, &mut frame)),
            None => renderer.render_into(&tick.motion, &mut frame),
        }
        let sound: Vec<u8> = tick.sound.iter().flat_map(|s| s.to_le_bytes()).collect();
        // The sound goes out 20 ms at a time, as Opus packs it: a steady
        // flow lets the browser keep a short jitter buffer.
        let (first, second) = sound.split_at(sound.len() / 2);
        let written = video.write(&frame).and_then(|()| audio.write(first)).and_then(|()| {
            let halfway = due + frame_time / 2;
            std::thread::sleep(halfway.saturating_duration_since(Instant::now()));
            audio.write(second)
        });
        if let Err(error) = written {
            tracing::warn!(%error, "a live session's encoder stopped");
            break;
        }
        shared.frames.fetch_add(1, Ordering::Relaxed);
    }
    for cancel in cancels.values() {
        cancel.store(true, Ordering::Relaxed);
    }
    shared.set_state(SessionState::Closed);
    // Viewers' channels close, and with them their connections.
    shared.viewers.lock().unwrap_or_else(|e| e.into_inner()).clear();
    drop((video, audio));
}

/// Our voice speaks `text` on a thread of its own, handing each sentence
/// to the session as it is made.
fn speak(shared: &Arc<Shared>, text: String, event_id: String, voice_id: String, cancel: Arc<AtomicBool>) {
    let commands = shared.commands.clone();
    std::thread::spawn(move || {
        let asked = Instant::now();
        let mut first = true;
        let result = speech::synthesize_each(&text, &voice_id, SpeechOptions::default(), &mut |piece| {
            if cancel.load(Ordering::Relaxed) {
                return Err(SpeechError::Engine("interrupted".into()));
            }
            if std::mem::take(&mut first) {
                tracing::debug!(event_id, ms = asked.elapsed().as_millis(), "first sentence spoken");
            }
            commands
                .send(Command::Piece { event_id: event_id.clone(), piece })
                .map_err(|_| SpeechError::Engine("the session ended".into()))
        });
        let error = result.err().filter(|_| !cancel.load(Ordering::Relaxed));
        let _ = commands.send(Command::VoiceDone { event_id, error });
    });
}
