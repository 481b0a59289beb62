//! A scene's speech, known in full or still arriving: a voice speaking on a
//! thread of its own hands its sentences over as it makes them, so the
//! drawing starts after the first ones instead of after the whole text.

use speech::{Speech, SpeechError, SpeechOptions};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where a scene's speech comes from.
pub enum SceneSpeech<'a> {
    /// Known in full: a recording, a silence, speech made earlier.
    Ready(&'a Speech),
    /// Still being spoken.
    Arriving(Arriving),
}

/// Speech being made elsewhere: pieces come in order until the sender
/// hangs up; an error ends the render.
pub struct Arriving {
    pub(crate) pieces: mpsc::Receiver<Result<Speech, SpeechError>>,
    /// A guess of its length in seconds, for the progress until it is known.
    pub(crate) expected_seconds: f32,
}

/// Characters an English voice speaks in a second at normal speed, for the
/// guess of how long a text lasts.
const CHARACTERS_PER_SECOND: f32 = 15.0;

/// Speaks `text` on a thread of its own, sentence by sentence. The handle
/// gives the time spent speaking. A voice or option the speech engine
/// refuses arrives as the first piece's error.
pub fn speak_while_drawing(text: &str, voice_id: &str, options: SpeechOptions) -> (Arriving, JoinHandle<Duration>) {
    let (sender, pieces) = mpsc::channel();
    let expected_seconds = text.chars().count() as f32 / CHARACTERS_PER_SECOND / options.speed.max(0.1);
    let (text, voice_id) = (text.to_string(), voice_id.to_string());
    let speaking = std::thread::spawn(move || {
        let started = Instant::now();
        let result = speech::synthesize_each(&text, &voice_id, options, &mut |piece| {
            // The render has stopped (it failed elsewhere): stop speaking too.
            sender.send(Ok(piece)).map_err(|_| SpeechError::Engine("the render stopped".into()))
        });
        if let Err(error) = result {
            let _ = sender.send(Err(error));
        }
        started.elapsed()
    });
    (Arriving { pieces, expected_seconds }, speaking)
}
