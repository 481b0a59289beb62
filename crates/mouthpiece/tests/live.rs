//! Live sessions (issue 17) in a real headless Chromium, driven by
//! tests/web/live.mjs against a real `mouthpiece serve`: FULL mode with the
//! neural voice (and the web app's Live tab once), FULL mode with an
//! espeak-ng voice, and LITE mode with a spoken sentence streamed as 40 ms
//! chunks of 24 kHz PCM. Every check of the page must pass and the stream
//! must run at about 25 fps idle and speaking; the latencies and the
//! mouth/sound correlation are a benchmark: printed, and written to
//! target/live-results/<run>.json for docs/benchmarks.md, never asserted.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::server::*;

/// The least frame rate (decoded frames per second, idle and speaking) of
/// a stream meant to run at 25 fps on a shared, noisy machine.
const MIN_FPS: f64 = 20.0;

/// One run of live.mjs: its name (and results file), mode, voice and WAV.
struct Run {
    name: &'static str,
    mode: &'static str,
    voice: String,
    wav: Option<PathBuf>,
    /// Whether the web app's Live tab is driven too (once is enough).
    live_tab: bool,
}

#[tokio::test]
async fn live_sessions_speak_text_and_streamed_audio_in_a_real_browser() {
    let server = start_server().await;
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    assert!(web.join("node_modules/playwright-core").exists(), "run scripts/test-env.sh (./test.sh does)");
    let avatar = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let espeak = espeak_voice(&server).await;
    let scratch = tempfile::tempdir().expect("temp dir");
    let wav = scratch.path().join("sentence-24k.wav");
    spoken_wav_24k("Hello, I am speaking with a voice my own app made, streamed to the avatar as it plays.", &wav);

    let runs = [
        Run { name: "full-neural", mode: "FULL", voice: "-".into(), wav: None, live_tab: true },
        Run { name: "full-espeak", mode: "FULL", voice: espeak, wav: None, live_tab: false },
        Run { name: "lite", mode: "LITE", voice: "-".into(), wav: Some(wav), live_tab: false },
    ];
    // Each run is reported before any is judged, so one failure hides no figures.
    let mut failures = Vec::new();
    for run in &runs {
        let (ok, result, stderr) = run_live(&server, &avatar, &web, run).await;
        report(run, &result);
        let problems = problems(run, ok, &result);
        if !problems.is_empty() {
            failures.push(format!("{}: {}\n--- live.mjs stderr ---\n{stderr}", run.name, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// An espeak-ng voice from the catalogue (an English one: the voices
/// without `emotion_support` are espeak-ng's).
async fn espeak_voice(server: &Server) -> String {
    let (status, voices) = call(server, reqwest::Method::GET, "/v2/voices", None).await;
    assert_eq!(status, 200, "{voices}");
    let voices = voices["data"]["voices"].as_array().expect("voices");
    let voice = voices
        .iter()
        .find(|v| v["language"] == "English" && v["emotion_support"] == false)
        .expect("an English espeak-ng voice");
    voice["voice_id"].as_str().expect("voice_id").to_string()
}

/// A sentence in the default (neural) voice as a PCM s16le mono 24 kHz
/// WAV, as an app's own TTS would hand it over.
fn spoken_wav_24k(text: &str, to: &Path) {
    let speech =
        speech::synthesize(text, speech::DEFAULT_VOICE_ID, speech::SpeechOptions::default()).expect("synthesize");
    let native = to.with_extension("native.wav");
    media::write_wav(&native, speech.sample_rate, &speech.samples).expect("write WAV");
    let resampled = media::decode_audio(&native, 24_000).expect("resample to 24 kHz");
    media::write_wav(to, 24_000, &resampled).expect("write 24 kHz WAV");
}

/// Runs live.mjs once: whether it succeeded, its LIVE_RESULT, its stderr.
async fn run_live(server: &Server, avatar: &str, web: &Path, run: &Run) -> (bool, Value, String) {
    let mut command = tokio::process::Command::new("node");
    command
        .arg(web.join("live.mjs"))
        .args([&server.base, &server.key, avatar, &run.voice, run.mode])
        .args(run.wav.iter())
        .env("LIVE_UI", if run.live_tab { "1" } else { "0" })
        .current_dir(web);
    let output = command.output().await.expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let result = stdout
        .lines()
        .find_map(|line| line.strip_prefix("LIVE_RESULT "))
        .map(|json| serde_json::from_str(json).expect("LIVE_RESULT is JSON"))
        .unwrap_or_else(|| panic!("{}: no LIVE_RESULT line\n{stdout}\n{stderr}", run.name));
    (output.status.success(), result, stderr)
}

/// What must hold of a run: success, every check of the page passed, and
/// about 25 fps idle and speaking.
fn problems(run: &Run, ok: bool, result: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if !ok {
        problems.push(format!("live.mjs failed: {}", result["error"].as_str().unwrap_or("checks failed")));
    }
    if let Some(listed) = result["problems"].as_array() {
        problems.extend(listed.iter().map(Value::to_string));
    }
    let checks = result["checks"].as_object().cloned().unwrap_or_default();
    if checks.is_empty() {
        problems.push("no check ran".into());
    }
    problems.extend(checks.iter().filter(|(_, c)| c["ok"] != true).map(|(name, c)| format!("check {name}: {c}")));
    let speaking = speaking(run);
    for (what, pointer) in
        [("idle", "/idle/fps_decoded".to_string()), ("speaking", format!("/{speaking}/rates/fps_decoded"))]
    {
        match result.pointer(&pointer).and_then(Value::as_f64) {
            Some(fps) if fps >= MIN_FPS => {}
            fps => problems.push(format!("{what} at {fps:?} decoded fps, not about 25 (at least {MIN_FPS})")),
        }
    }
    problems
}

/// The part of the result about the speech: "speak" (FULL) or "lite".
fn speaking(run: &Run) -> &'static str {
    if run.mode == "FULL" { "speak" } else { "lite" }
}

/// The figures of a run worth quoting: printed as one block, and written
/// (with the whole LIVE_RESULT beside them) to target/live-results/<run>.json.
fn report(run: &Run, result: &Value) {
    let s = speaking(run);
    let from = if run.mode == "FULL" { "text" } else { "first chunk" };
    let mut figures: Vec<(String, String)> = vec![
        ("connect → first frame ms".into(), "/connect/total_ms".into()),
        ("WHEP offer → first frame ms".into(), "/connect/first_frame_ms".into()),
        (format!("{from} → first mouth motion ms"), format!("/{s}/first_mouth_motion_ms")),
        (format!("{from} → mouth moving 2 frames ms"), format!("/{s}/first_mouth_motion_two_frames_ms")),
        (format!("{from} → first audible ms"), format!("/{s}/first_audible_ms")),
        ("mouth/sound correlation".into(), format!("/{s}/correlation/correlation")),
        ("mouth/sound offset frames (+: sound later)".into(), format!("/{s}/correlation/offset_frames")),
        ("openness/sound correlation".into(), format!("/{s}/openness_correlation/correlation")),
        ("openness/sound offset frames".into(), format!("/{s}/openness_correlation/offset_frames")),
        ("idle fps decoded".into(), "/idle/fps_decoded".into()),
        ("idle fps presented".into(), "/idle/fps_presented".into()),
        ("idle late fraction (gap > 60 ms)".into(), "/idle/late_fraction".into()),
        ("idle max gap ms".into(), "/idle/max_gap_ms".into()),
        ("speaking fps decoded".into(), format!("/{s}/rates/fps_decoded")),
        ("speaking fps presented".into(), format!("/{s}/rates/fps_presented")),
        ("speaking late fraction".into(), format!("/{s}/rates/late_fraction")),
        ("speaking max gap ms".into(), format!("/{s}/rates/max_gap_ms")),
        ("speaking frames dropped".into(), format!("/{s}/rates/frames_dropped")),
        ("whole run fps presented".into(), "/all_frames/fps_presented".into()),
        ("whole run late fraction".into(), "/all_frames/late_fraction".into()),
    ];
    if run.mode == "FULL" {
        figures.push(("text → speak_started event ms".into(), "/speak/speak_started_ms".into()));
        figures.push(("interrupt → silence ms".into(), "/interrupt/to_silence_ms".into()));
        figures.push(("interrupt → mouth still ms".into(), "/interrupt/to_mouth_still_ms".into()));
    }
    figures.push(("stop → closed event ms".into(), "/stop/to_closed_event_ms".into()));
    let figures: Vec<(String, Value)> = figures
        .into_iter()
        .map(|(name, pointer)| (name, result.pointer(&pointer).cloned().unwrap_or(Value::Null)))
        .collect();

    let mut block = format!(
        "── live {} ({} mode, voice {}) · {} · video {} · audio {} ──\n",
        run.name, run.mode, run.voice, result["resolution"], result["codec"]["video"], result["codec"]["audio"]
    );
    for (name, value) in &figures {
        block.push_str(&format!("  {name:<44} {value}\n"));
    }
    eprintln!("{block}");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/live-results");
    std::fs::create_dir_all(&dir).expect("results dir");
    let written = json!({
        "run": run.name,
        "mode": run.mode,
        "voice": run.voice,
        "resolution": result["resolution"],
        "codec": result["codec"],
        "figures": figures.into_iter().collect::<serde_json::Map<String, Value>>(),
        "live_result": result,
    });
    let text = serde_json::to_string_pretty(&written).expect("JSON");
    std::fs::write(dir.join(format!("{}.json", run.name)), text).expect("write results");
}
