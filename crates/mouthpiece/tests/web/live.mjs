// Measures a live session (issue 17) in a real headless Chromium (Debian's),
// as a browser app would use it: a session from the API, the picture and
// sound by WHEP into a plain RTCPeerConnection, the control WebSocket. The
// page timestamps every decoded frame (requestVideoFrameCallback) and the
// received sound (a Web Audio analyser) and reports: idle and speaking frame
// rates, text (or the first audio chunk) → first mouth motion and first
// audible sound, how well the mouth follows the sound (correlation at
// offsets of −5..+15 frames), interrupt → silence, the bad input a browser
// can send, and the close on stop. Then, in FULL mode, the web app's Live
// tab is driven once (start, say, stop).
//
// Usage: node live.mjs BASE_URL API_KEY AVATAR_ID VOICE_ID MODE [WAV_PATH]
//   MODE: FULL (our voice speaks text) or LITE (WAV_PATH, PCM s16le mono
//   24 kHz, is streamed as agent.speak chunks of 40 ms in real time).
//   VOICE_ID may be "-" for none. Env: SHOTS_DIR (screenshots), CHROMIUM,
//   LIVE_UI=0 (skip the Live tab), LIVE_TIMEOUT_S (whole run, default 300),
//   LIVE_IDLE_S (seconds of idle stream measured before speaking, default 3).
// Prints one line `LIVE_RESULT {json}` on stdout. Exits 1 with a
// `LIVE_FAILED: …` line on stderr on a hard failure (no WHEP answer, no
// frames, no events) or when a check fails (`failed_checks` in the JSON);
// the timings are a benchmark, reported and not asserted.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const [base, key, avatarId, voiceArg, modeArg, wavPath] = process.argv.slice(2);
if (!base || !key || !avatarId || !modeArg) {
  console.error("usage: node live.mjs BASE_URL API_KEY AVATAR_ID VOICE_ID MODE [WAV_PATH]");
  process.exit(2);
}
const mode = modeArg.toUpperCase();
if (mode !== "FULL" && mode !== "LITE") {
  console.error(`LIVE_FAILED: MODE must be FULL or LITE, not ${modeArg}`);
  process.exit(2);
}
const voiceId = voiceArg && voiceArg !== "-" ? voiceArg : null;
const shots = process.env.SHOTS_DIR || null;
if (shots) fs.mkdirSync(shots, { recursive: true });

/// The 40 ms chunks of a PCM s16le mono 24 kHz WAV, base64.
function wavChunks(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.toString("ascii", 0, 4) !== "RIFF" || bytes.toString("ascii", 8, 12) !== "WAVE") {
    throw new Error(`${file} is not a WAV file`);
  }
  let format = null;
  let data = null;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = bytes.toString("ascii", at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === "fmt ") {
      format = { tag: bytes.readUInt16LE(body), channels: bytes.readUInt16LE(body + 2),
                 rate: bytes.readUInt32LE(body + 4), bits: bytes.readUInt16LE(body + 14) };
    } else if (id === "data") {
      data = bytes.subarray(body, Math.min(bytes.length, body + size));
    }
    at = body + size + (size % 2);
  }
  if (!format || !data) throw new Error(`${file}: no fmt or data chunk`);
  const pcm = format.tag === 1 || format.tag === 0xfffe;
  if (!pcm || format.channels !== 1 || format.rate !== 24000 || format.bits !== 16) {
    throw new Error(`${file} must be PCM s16le mono 24 kHz, is format ${format.tag}, ` +
      `${format.channels} channel(s), ${format.rate} Hz, ${format.bits} bits`);
  }
  const step = 24000 * 0.04 * 2;
  const chunks = [];
  for (let at = 0; at < data.length; at += step) {
    chunks.push(Buffer.from(data.subarray(at, Math.min(data.length, at + step))).toString("base64"));
  }
  return chunks;
}

let chunks = null;
if (mode === "LITE" && wavPath) {
  try {
    chunks = wavChunks(wavPath);
  } catch (error) {
    console.error(`LIVE_FAILED: ${error.message}`);
    process.exit(1);
  }
}

const budget = Number(process.env.LIVE_TIMEOUT_S || 300);
setTimeout(() => {
  console.error(`LIVE_FAILED: the run took longer than ${budget} s`);
  process.exit(1);
}, budget * 1000).unref();

// Everything below runs inside the page, with the browser's own APIs only.
async function measure(cfg) {
  const R = (window.__liveResult = { mode: cfg.mode, checks: {} });
  const log = (...parts) => console.log("[live]", ...parts);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const now = () => performance.now();
  const t0 = now();
  const round = (x, digits = 1) => (x == null || !Number.isFinite(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits);
  const since = (from, t) => (t == null || from == null ? null : round(t - from));
  const hard = (message) => { throw new Error(message); };
  const check = (name, ok, detail) => {
    R.checks[name] = detail === undefined ? { ok: Boolean(ok) } : { ok: Boolean(ok), detail };
    log(`check ${name}: ${ok ? "ok" : "FAILED"}`, detail === undefined ? "" : JSON.stringify(detail));
  };
  const quantile = (values, q) => {
    const sorted = values.filter((v) => v != null).sort((a, b) => a - b);
    return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))] : null;
  };
  const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);

  async function call(method, url, { apiKey, token, json, sdp } = {}) {
    const headers = {};
    if (apiKey) headers["X-Api-Key"] = apiKey;
    if (token) headers.Authorization = `Bearer ${token}`;
    let body;
    if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
    if (sdp !== undefined) { headers["Content-Type"] = "application/sdp"; body = sdp; }
    let response;
    try {
      response = await fetch(url, { method, headers, body });
    } catch (error) {
      hard(`${method} ${url} did not get an answer: ${error.message}`);
    }
    const text = await response.text();
    let parsed = null;
    try { parsed = JSON.parse(text); } catch (_) { /* SDP or nothing */ }
    return { status: response.status, text, json: parsed, location: response.headers.get("Location") };
  }
  const ok = (reply) => reply.status >= 200 && reply.status < 300 && reply.json && reply.json.code === 1000;
  const v2Shape = (reply) => Boolean(reply.json && reply.json.error && reply.json.error.message && reply.json.error.code != null);

  // ---- The session ----------------------------------------------------------
  const order = { avatar_id: cfg.avatarId, mode: cfg.mode, video_quality: "medium" };
  if (cfg.voiceId) order.voice_id = cfg.voiceId;
  let t = now();
  const made = await call("POST", "/v1/sessions/token", { apiKey: cfg.key, json: order });
  if (!ok(made) || !made.json.data || !made.json.data.session_token) {
    hard(`POST /v1/sessions/token answered ${made.status}: ${made.text.slice(0, 300)}`);
  }
  const { session_id: sessionId, session_token: token } = made.json.data;
  R.session_id = sessionId;
  R.connect = { token_ms: since(t, now()) };
  t = now();
  const started = await call("POST", "/v1/sessions/start", { token, json: { session_id: sessionId } });
  if (!ok(started) || !started.json.data || !started.json.data.whep_url || !started.json.data.ws_url) {
    hard(`POST /v1/sessions/start answered ${started.status}: ${started.text.slice(0, 300)}`);
  }
  const { whep_url: whepUrl, ws_url: wsUrl, max_session_duration: maxDuration } = started.json.data;
  R.connect.start_ms = since(t, now());
  // Should the run fail half-way, the session is stopped rather than left to time out.
  window.__liveStop = () => call("POST", "/v1/sessions/stop", { token, json: { session_id: sessionId, reason: "test failed" } });
  R.max_session_duration = maxDuration;
  log(`session ${sessionId}: whep ${whepUrl}, ws ${wsUrl}`);

  // ---- The control WebSocket: every event, timestamped --------------------
  const events = [];
  const waiters = [];
  let socketClosed = null;
  const socketAddress = new URL(wsUrl, location.href);
  socketAddress.searchParams.set("session_token", token);
  const socket = new WebSocket(socketAddress.href);
  socket.addEventListener("message", (message) => {
    let data;
    try { data = JSON.parse(message.data); } catch (_) { data = { type: "(not JSON)", raw: String(message.data).slice(0, 200) }; }
    const event = { t: now(), msg: data };
    events.push(event);
    for (const waiter of [...waiters]) {
      if (event.t >= waiter.from && waiter.match(event.msg)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  socket.addEventListener("close", (close) => { socketClosed = { t: now(), code: close.code, reason: close.reason }; });
  /// The first event since `from` that `match`es, or null after `ms`.
  const waitEvent = (match, ms, from = 0) => {
    const found = events.find((e) => e.t >= from && match(e.msg));
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const waiter = { match, from, resolve };
      waiters.push(waiter);
      setTimeout(() => {
        const at = waiters.indexOf(waiter);
        if (at >= 0) { waiters.splice(at, 1); resolve(null); }
      }, ms);
    });
  };
  const send = (message) => socket.send(JSON.stringify(message));
  t = now();
  const opened = await new Promise((resolve) => {
    socket.addEventListener("open", () => resolve(true));
    socket.addEventListener("error", () => resolve(false));
    setTimeout(() => resolve(false), 5000);
  });
  if (!opened) hard(`the WebSocket at ${wsUrl} did not open (close: ${JSON.stringify(socketClosed)})`);
  R.connect.ws_open_ms = since(t, now());
  const keepAlive = setInterval(() => { if (socket.readyState === WebSocket.OPEN) send({ type: "session.keep_alive" }); }, 20000);

  // ---- The picture and sound by WHEP ---------------------------------------
  const peer = new RTCPeerConnection();
  peer.addTransceiver("video", { direction: "recvonly" });
  peer.addTransceiver("audio", { direction: "recvonly" });
  t = now();
  await peer.setLocalDescription(await peer.createOffer());
  await new Promise((resolve) => {
    if (peer.iceGatheringState === "complete") return resolve();
    peer.addEventListener("icegatheringstatechange", () => { if (peer.iceGatheringState === "complete") resolve(); });
    setTimeout(resolve, 3000);
  });
  R.connect.ice_gathering_ms = since(t, now());
  const whepAt = now();
  const answer = await call("POST", whepUrl, { token, sdp: peer.localDescription.sdp });
  R.connect.whep_ms = since(whepAt, now());
  R.whep = { status: answer.status, location: answer.location };
  if (answer.status < 200 || answer.status >= 300 || !answer.text.startsWith("v=")) {
    hard(`WHEP POST ${whepUrl} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
  check("whep_201_with_location", answer.status === 201 && Boolean(answer.location), R.whep);
  try {
    await peer.setRemoteDescription({ type: "answer", sdp: answer.text });
  } catch (error) {
    hard(`the browser refused the WHEP answer: ${error.message}\n${answer.text.slice(0, 1500)}`);
  }

  const box = document.createElement("div");
  box.style.cssText = "position:fixed;top:8px;right:8px;z-index:1000;background:#fff;padding:8px;border:1px solid #ccc;border-radius:10px;font:13px system-ui";
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  video.style.cssText = "display:block;width:512px;height:512px;background:#000";
  const caption = document.createElement("div");
  caption.textContent = `live test · ${cfg.mode} · ${sessionId}`;
  box.append(video, caption);
  document.body.append(box);
  video.srcObject = new MediaStream(peer.getReceivers().map((receiver) => receiver.track));
  R.autoplay_with_sound = true;
  video.play().catch(async () => {
    R.autoplay_with_sound = false;
    video.muted = true;
    await video.play().catch(() => {});
  });

  // Sound: the received track into an analyser, its loudness every 5 ms.
  const audio = [];
  const audioTrack = peer.getReceivers().map((r) => r.track).find((track) => track.kind === "audio");
  const context = new AudioContext();
  await context.resume().catch(() => {});
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  const sink = context.createGain();
  sink.gain.value = 0;
  context.createMediaStreamSource(new MediaStream([audioTrack])).connect(analyser);
  analyser.connect(sink).connect(context.destination);
  const samples = new Float32Array(analyser.fftSize);
  const audioTimer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    audio.push({ t: now(), rms: Math.sqrt(sum / samples.length) });
  }, 5);

  // Pictures: every presented frame's mouth box (x 35–65 %, y 55–80 %),
  // compared with the frame before and with a still reference.
  const frames = [];
  const canvas = document.createElement("canvas");
  const draw = canvas.getContext("2d", { willReadFrequently: true });
  let previous = null;
  let reference = null;
  let latest = null;
  const meanDifference = (a, b) => {
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
    return sum / a.length;
  };
  const onFrame = (callbackTime, meta) => {
    const width = meta.width || video.videoWidth;
    const height = meta.height || video.videoHeight;
    if (width && height) {
      const sw = width * 0.3;
      const sh = height * 0.25;
      const cw = Math.min(160, Math.round(sw));
      const ch = Math.max(1, Math.round((cw * sh) / sw));
      if (canvas.width !== cw || canvas.height !== ch) { canvas.width = cw; canvas.height = ch; previous = null; reference = null; }
      draw.drawImage(video, width * 0.35, height * 0.55, sw, sh, 0, 0, cw, ch);
      const pixels = draw.getImageData(0, 0, cw, ch).data;
      const luma = new Float32Array(cw * ch);
      for (let i = 0; i < luma.length; i++) luma[i] = 0.299 * pixels[4 * i] + 0.587 * pixels[4 * i + 1] + 0.114 * pixels[4 * i + 2];
      frames.push({
        t: meta.presentationTime || callbackTime, received: meta.receiveTime ?? null, presented: meta.presentedFrames,
        rtp: meta.rtpTimestamp ?? null, width, height,
        diff: previous && previous.length === luma.length ? meanDifference(luma, previous) : null,
        open: reference && reference.length === luma.length ? meanDifference(luma, reference) : null,
      });
      previous = luma;
      latest = luma;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);

  async function inbound() {
    const report = await peer.getStats();
    const out = { t: now() };
    report.forEach((s) => {
      if (s.type === "inbound-rtp") out[s.kind] = s;
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") out.pair = s;
    });
    for (const kind of ["video", "audio"]) {
      if (out[kind] && out[kind].codecId && report.get(out[kind].codecId)) out[`${kind}Codec`] = report.get(out[kind].codecId).mimeType;
    }
    return out;
  }

  for (let waited = 0; frames.length === 0; waited += 50) {
    if (waited >= 15000) {
      const stats = await inbound();
      hard(`no video frame within 15 s of the WHEP answer (connection ${peer.connectionState}, ICE ` +
        `${peer.iceConnectionState}, video packets ${stats.video ? stats.video.packetsReceived : "none"}, frames decoded ` +
        `${stats.video ? stats.video.framesDecoded : "none"}, keyframes ${stats.video ? stats.video.keyFramesDecoded : "none"})`);
    }
    await sleep(50);
  }
  R.connect.first_frame_ms = since(whepAt, frames[0].t);
  R.connect.total_ms = since(t0, frames[0].t);
  log(`first frame ${frames[0].width}×${frames[0].height} ${R.connect.first_frame_ms} ms after the WHEP offer`);

  /// Frame rates and lateness over [from, to], with the decoder's counts.
  function rates(from, to, before, after) {
    const inside = frames.filter((f) => f.t >= from && f.t <= to);
    const out = { seconds: round((to - from) / 1000, 2), frames_seen: inside.length };
    if (inside.length >= 2) {
      const span = (inside[inside.length - 1].t - inside[0].t) / 1000;
      out.fps_presented = round((inside[inside.length - 1].presented - inside[0].presented) / span, 2);
      out.fps_callbacks = round((inside.length - 1) / span, 2);
      const gaps = inside.slice(1).map((f, i) => f.t - inside[i].t);
      out.late_fraction = round(gaps.filter((g) => g > 60).length / gaps.length, 4);
      out.max_gap_ms = round(Math.max(...gaps));
    }
    if (before && after && before.video && after.video) {
      const seconds = (after.t - before.t) / 1000;
      const delta = (name) => (after.video[name] ?? 0) - (before.video[name] ?? 0);
      out.fps_decoded = round(delta("framesDecoded") / seconds, 2);
      out.frames_decoded = delta("framesDecoded");
      out.frames_dropped = delta("framesDropped");
      out.frames_received = delta("framesReceived");
      out.freezes = delta("freezeCount");
      out.freeze_seconds = round(delta("totalFreezesDuration"), 3);
      out.packets_lost = delta("packetsLost");
      // Mean time each kind waited in the browser's jitter buffer over the span (ms).
      for (const kind of ["video", "audio"]) {
        const [b, a] = [before[kind] || {}, after[kind] || {}];
        const emitted = (a.jitterBufferEmittedCount ?? 0) - (b.jitterBufferEmittedCount ?? 0);
        const waited = (a.jitterBufferDelay ?? 0) - (b.jitterBufferDelay ?? 0);
        out[`${kind}_jitter_buffer_ms`] = emitted > 0 ? round((1000 * waited) / emitted, 1) : null;
      }
    }
    return out;
  }

  // ---- Idle ---------------------------------------------------------------
  await sleep(1000);
  const idleStats = await inbound();
  R.codec = { video: idleStats.videoCodec || null, audio: idleStats.audioCodec || null,
              decoder: idleStats.video ? idleStats.video.decoderImplementation || null : null };
  R.resolution = `${frames[frames.length - 1].width}x${frames[frames.length - 1].height}`;
  const idleFrom = now();
  await sleep(1000 * cfg.idleSeconds);
  const idleTo = now();
  const idleEnd = await inbound();
  R.idle = rates(idleFrom, idleTo, idleStats, idleEnd);
  const idleDiffs = frames.filter((f) => f.t >= idleFrom && f.t <= idleTo && f.diff != null).map((f) => f.diff);
  const idleMedian = quantile(idleDiffs, 0.5) ?? 0;
  const FLOOR = 0.75;
  const threshold = 3 * idleMedian + FLOOR;
  const idleAudio = audio.filter((a) => a.t >= idleFrom && a.t <= idleTo).map((a) => a.rms);
  const audioThreshold = Math.max(0.01, 4 * (quantile(idleAudio, 0.99) ?? 0));
  Object.assign(R.idle, {
    mouth_diff_median: round(idleMedian, 3), mouth_diff_p95: round(quantile(idleDiffs, 0.95), 3),
    motion_threshold: round(threshold, 3),
    frames_over_threshold: round(idleDiffs.filter((d) => d > threshold).length / Math.max(1, idleDiffs.length), 4),
    audio_rms_p99: round(quantile(idleAudio, 0.99), 5), audio_threshold: round(audioThreshold, 5),
  });
  log("idle", JSON.stringify(R.idle));

  // One more ordinary call: an HTTP keep-alive, and the key's session list.
  const kept = await call("POST", "/v1/sessions/keep-alive", { token, json: { session_id: sessionId } });
  check("http_keep_alive", ok(kept), { status: kept.status });
  const listed = await call("GET", "/v1/sessions", { apiKey: cfg.key });
  check("session_listed", listed.status === 200 && listed.text.includes(sessionId), { status: listed.status });
  const keepAliveAt = now();
  send({ type: "session.keep_alive" });
  const keepAliveError = await waitEvent((m) => m.type === "error", 500, keepAliveAt);
  check("ws_keep_alive_accepted", !keepAliveError, keepAliveError ? keepAliveError.msg : undefined);

  /// Mouth against sound over [from, to]: first motion, first sound, and
  /// their correlation at offsets −5..+15 frames.
  function analyse(from, to) {
    const inside = frames.filter((f) => f.t >= from && f.t <= to);
    const out = {};
    const first = inside.find((f) => f.diff != null && f.diff > threshold);
    const firstTwo = inside.find((f, i) => f.diff > threshold && inside[i + 1] && inside[i + 1].diff > threshold);
    const sound = audio.find((a) => a.t >= from && a.t <= to && a.rms > audioThreshold);
    out.first_mouth_motion_ms = since(from, first && first.t);
    out.first_mouth_motion_two_frames_ms = since(from, firstTwo && firstTwo.t);
    out.first_mouth_motion_received_ms = since(from, first && first.received);
    out.first_audible_ms = since(from, sound && sound.t);
    // The sound's loudness over each frame's interval (the last poll if none fell in it).
    const envelope = inside.map((f, i) => {
      const start = i > 0 ? inside[i - 1].t : f.t - 40;
      const polls = audio.filter((a) => a.t > start && a.t <= f.t).map((a) => a.rms);
      if (polls.length) return mean(polls);
      const last = audio.filter((a) => a.t <= f.t).pop();
      return last ? last.rms : 0;
    });
    const pearson = (xs, ys) => {
      const pairs = xs.map((x, i) => [x, ys[i]]).filter(([x, y]) => x != null && y != null);
      if (pairs.length < 10) return null;
      const mx = mean(pairs.map((p) => p[0]));
      const my = mean(pairs.map((p) => p[1]));
      let sxy = 0, sxx = 0, syy = 0;
      for (const [x, y] of pairs) { sxy += (x - mx) * (y - my); sxx += (x - mx) ** 2; syy += (y - my) ** 2; }
      return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
    };
    // Offset k pairs the mouth in frame i with the sound in frame i + k:
    // positive k, the sound comes k frames after the mouth.
    const correlate = (series) => {
      const byOffset = {};
      let best = null;
      for (let k = -5; k <= 15; k++) {
        const xs = [];
        const ys = [];
        for (let i = 0; i < series.length; i++) {
          if (i + k >= 0 && i + k < envelope.length) { xs.push(series[i]); ys.push(envelope[i + k]); }
        }
        const r = pearson(xs, ys);
        byOffset[k] = round(r, 3);
        if (r != null && (!best || r > best.correlation)) best = { offset_frames: k, correlation: round(r, 3) };
      }
      return { ...(best || { offset_frames: null, correlation: null }), by_offset: byOffset };
    };
    out.correlation = correlate(inside.map((f) => f.diff));
    out.openness_correlation = correlate(inside.map((f) => f.open));
    out.series = {
      t_ms: inside.map((f) => round(f.t - from)), mouth_diff: inside.map((f) => round(f.diff, 2)),
      mouth_open: inside.map((f) => round(f.open, 2)), audio_rms: envelope.map((a) => round(a, 4)),
    };
    return out;
  }
  const eventsSince = (from, to = Infinity) => events.filter((e) => e.t >= from && e.t <= to)
    .map((e) => ({ t_ms: round(e.t - from), ...e.msg }));

  // ---- FULL: text in, face and voice out -----------------------------------
  if (cfg.mode === "FULL") {
    const before = await inbound();
    reference = latest;
    const sentAt = now();
    send({ type: "avatar.speak_text", text: "Hello there. This is a live test of the talking photo.", event_id: "e1" });
    const began = await waitEvent((m) => m.type === "avatar.speak_started" && m.event_id === "e1", 15000, sentAt);
    if (!began && events.length === 0) hard("no event came over the WebSocket, not even avatar.speak_started 15 s after avatar.speak_text");
    const ended = await waitEvent((m) => m.type === "avatar.speak_ended" && m.event_id === "e1", began ? 60000 : 5000, sentAt);
    await sleep(500);
    const after = await inbound();
    const endAt = ended ? ended.t : now();
    R.speak = { ...analyse(sentAt, endAt + 300), speak_started_ms: since(sentAt, began && began.t), speak_ended_ms: since(sentAt, ended && ended.t) };
    const moving = frames.find((f) => f.t >= sentAt && f.diff > threshold);
    R.speak.rates = rates(moving ? moving.t : sentAt, endAt, before, after);
    R.speak.events = eventsSince(sentAt, endAt + 500);
    reference = null;
    check("speak_started_then_ended", began && ended && began.t <= ended.t, R.speak.events.map((e) => e.type));
    check("mouth_moves", R.speak.first_mouth_motion_ms != null);
    check("sound_heard", R.speak.first_audible_ms != null);
    log("speak", JSON.stringify({ ...R.speak, series: undefined }));

    // Interrupt: a long sentence, stopped after 1 s of speaking (however
    // long the voice took to begin on a busy machine).
    await sleep(1000);
    const longAt = now();
    send({ type: "avatar.speak_text", event_id: "e2", text:
      "This is a much longer sentence, so that there is still a lot left to say when the interrupt arrives. " +
      "It goes on about the weather, the sea, the mountains and the long road home, and it would go on for a good while yet." });
    await waitEvent((m) => m.type === "avatar.speak_started" && m.event_id === "e2", 30000, longAt);
    await sleep(1000);
    const interruptAt = now();
    const speakingThen = audio.some((a) => a.t >= interruptAt - 300 && a.rms > audioThreshold);
    send({ type: "avatar.interrupt" });
    await sleep(2500);
    const watchedTo = now();
    const loud = audio.filter((a) => a.t >= interruptAt && a.t <= watchedTo && a.rms > audioThreshold);
    const lastLoud = loud.length ? loud[loud.length - 1].t : null;
    const quietFrom = lastLoud == null ? interruptAt : (audio.find((a) => a.t > lastLoud) || {}).t;
    const moved = frames.filter((f) => f.t >= interruptAt && f.t <= watchedTo && f.diff > threshold);
    const stillFrom = moved.length ? (frames.find((f) => f.t > moved[moved.length - 1].t) || {}).t : interruptAt;
    R.interrupt = {
      speaking_when_interrupted: speakingThen,
      to_silence_ms: since(interruptAt, quietFrom),
      silent_within_2_5_s: lastLoud == null || lastLoud < watchedTo - 500,
      to_mouth_still_ms: since(interruptAt, stillFrom),
      events: eventsSince(longAt, watchedTo),
    };
    check("interrupt_silences", speakingThen && R.interrupt.silent_within_2_5_s, R.interrupt);
  }

  // ---- LITE: the app's own audio, 40 ms chunks in real time ----------------
  if (cfg.mode === "LITE" && cfg.chunks && cfg.chunks.length) {
    const before = await inbound();
    reference = latest;
    const firstAt = now();
    for (let i = 0; i < cfg.chunks.length; i++) {
      const due = firstAt + i * 40;
      if (due > now()) await sleep(due - now());
      send({ type: "agent.speak", audio: cfg.chunks[i], event_id: "l1" });
    }
    const due = firstAt + cfg.chunks.length * 40;
    if (due > now()) await sleep(due - now());
    send({ type: "agent.speak_end", event_id: "l1" });
    const ended = await waitEvent((m) => m.type === "avatar.speak_ended" && m.event_id === "l1", 10000, firstAt);
    await sleep(500);
    const after = await inbound();
    const endAt = ended ? ended.t : firstAt + cfg.chunks.length * 40 + 500;
    R.lite = { chunks: cfg.chunks.length, ...analyse(firstAt, endAt + 300), speak_ended_ms: since(firstAt, ended && ended.t) };
    const moving = frames.find((f) => f.t >= firstAt && f.diff > threshold);
    R.lite.rates = rates(moving ? moving.t : firstAt, endAt, before, after);
    R.lite.events = eventsSince(firstAt, endAt + 500);
    reference = null;
    if (events.length === 0) hard("no event at all came over the WebSocket (not even avatar.speak_started)");
    check("lite_speak_ended", Boolean(ended), R.lite.events.map((e) => e.type));
    check("lite_mouth_moves", R.lite.first_mouth_motion_ms != null);
    check("lite_sound_heard", R.lite.first_audible_ms != null);
    log("lite", JSON.stringify({ ...R.lite, series: undefined }));
  }

  // ---- Bad input a browser can send ----------------------------------------
  R.bad_input = {};
  const refused = async (name, message) => {
    const at = now();
    send(message);
    const error = await waitEvent((m) => m.type === "error", 3000, at);
    const count = frames.length;
    await sleep(1000);
    const goesOn = frames.length - count >= 10 && socket.readyState === WebSocket.OPEN;
    R.bad_input[name] = { error: error ? error.msg : null, frames_in_1_s: frames.length - count };
    check(`${name}_error_event`, error && error.msg.code != null && error.msg.message, error ? error.msg : null);
    check(`${name}_session_goes_on`, goesOn, R.bad_input[name]);
  };
  await refused("unknown_type", { type: "no.such.message", event_id: "bad1" });
  if (cfg.mode === "LITE") await refused("not_pcm", { type: "agent.speak", audio: "this is not base64 PCM!", event_id: "bad2" });
  const badToken = await call("POST", "/v1/sessions/keep-alive", { token: "not-a-session-token", json: { session_id: sessionId } });
  R.bad_input.wrong_token = { status: badToken.status, body: badToken.json };
  check("wrong_token_401", badToken.status === 401, R.bad_input.wrong_token);
  check("http_error_v2_shape", v2Shape(badToken), badToken.json);
  const badSdp = await call("POST", whepUrl, { token, sdp: "this is not SDP" });
  R.bad_input.malformed_sdp = { status: badSdp.status, body: badSdp.json };
  check("malformed_sdp_400", badSdp.status === 400, R.bad_input.malformed_sdp);
  const count = frames.length;
  await sleep(1000);
  check("picture_goes_on_after_bad_sdp", frames.length - count >= 10, { frames_in_1_s: frames.length - count });

  // ---- A picture of it, speaking if it can -----------------------------------
  if (cfg.shots) {
    if (cfg.mode === "FULL") {
      const at = now();
      send({ type: "avatar.speak_text", text: "And this is what I look like when I talk.", event_id: "shot" });
      await waitEvent((m) => m.type === "avatar.speak_started" && m.event_id === "shot", 10000, at);
      await sleep(700);
      await window.__liveShot("live-speaking");
      await waitEvent((m) => m.type === "avatar.speak_ended" && m.event_id === "shot", 30000, at);
      await sleep(300);
    }
    await window.__liveShot("live");
  }

  // ---- Stop ----------------------------------------------------------------
  R.all_frames = rates(frames[0].t, now());
  const stopAt = now();
  const stopped = await call("POST", "/v1/sessions/stop", { token, json: { session_id: sessionId, reason: "test finished" } });
  check("stop", ok(stopped), { status: stopped.status, body: stopped.json });
  const closed = await waitEvent((m) => m.type === "session.state_updated" && m.state === "closed", 5000, stopAt);
  check("closed_state_on_stop", Boolean(closed));
  await sleep(1000);
  const framesAfter = frames.filter((f) => f.t > stopAt + 500).length;
  R.stop = {
    to_closed_event_ms: since(stopAt, closed && closed.t), socket_closed: socketClosed,
    peer_connection: peer.connectionState, frames_from_0_5_to_1_s_after_stop: framesAfter,
  };
  if (answer.location) {
    const left = await call("DELETE", new URL(answer.location, whepUrl).href, { token });
    R.stop.whep_delete_status = left.status;
  }
  clearInterval(keepAlive);
  clearInterval(audioTimer);
  peer.close();
  socket.close();
  await context.close().catch(() => {});
  R.states = events.filter((e) => e.msg.type === "session.state_updated").map((e) => e.msg.state);
  R.events = eventsSince(t0);
  if (events.length === 0) hard("no event at all came over the WebSocket");
  return R;
}

// ---- The web app's Live tab, once -------------------------------------------
/// Runs the Live tab; a failure says what the page showed, so that a
/// failure in CI can be read without a screenshot.
async function liveTab(context, problems) {
  const page = await context.newPage();
  try {
    await driveLiveTab(page, problems);
  } catch (error) {
    const shown = await page.evaluate(() => ({
      state: document.getElementById("live-state").dataset.state,
      speaking: document.getElementById("live-speaking").textContent,
      error: document.getElementById("live-error").textContent,
    })).catch(() => ({}));
    throw new Error(`${error.message.split("\n")[0]}; the page showed ${JSON.stringify(shown)}`);
  }
}

async function driveLiveTab(page, problems) {
  page.on("pageerror", (error) => problems.push(`Live tab page error: ${error.message}`));
  await page.goto(`${base}/?key=${encodeURIComponent(key)}`);
  await page.getByRole("tab", { name: "Live" }).click();
  await page.locator("#live-avatar").selectOption(avatarId);
  if (voiceId) await page.getByLabel("Speaking voice").selectOption(voiceId);
  await page.getByRole("button", { name: "Start", exact: true }).click();
  await page.locator('#live-state[data-state="live"]').waitFor({ timeout: 30000 });
  await page.waitForFunction(() => document.getElementById("live-video").readyState >= 2, null, { timeout: 30000 });
  await page.getByLabel("Type a sentence").fill("Hello from the live tab.");
  await page.getByRole("button", { name: "Say it" }).click();
  await page.locator("#live-speaking", { hasText: "Speaking" }).waitFor({ timeout: 15000 });
  await page.waitForTimeout(600);
  if (shots) await page.screenshot({ path: path.join(shots, "live-tab.png"), fullPage: true });
  await page.waitForFunction(() => !document.getElementById("live-speaking").textContent, null, { timeout: 30000 });
  const error = page.locator("#live-error");
  if (await error.isVisible()) problems.push(`Live tab shows an error: ${await error.textContent()}`);
  await page.getByRole("button", { name: "Stop", exact: true }).click();
  await page.locator('#live-state[data-state="closed"]').waitFor({ timeout: 10000 });
  await page.close();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
         "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
         "--use-fake-ui-for-media-stream"],
});
let result = null;
let failure = null;
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => { if (message.text().startsWith("[live]")) console.error(message.text()); });
  await page.exposeFunction("__liveShot", async (name) => {
    if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`) });
  });
  await page.goto(`${base}/`);
  try {
    const idleSeconds = Number(process.env.LIVE_IDLE_S || 3);
    result = await page.evaluate(measure, { key, avatarId, voiceId, mode, chunks, idleSeconds, shots: Boolean(shots) });
  } catch (error) {
    failure = error.message.replace(/^page\.evaluate: (Error: )?/, "").split("\n    at ")[0];
    result = await page.evaluate(() => window.__liveResult).catch(() => null);
    await page.evaluate(() => window.__liveStop && window.__liveStop()).catch(() => {});
  }
  if (!failure && mode === "FULL" && process.env.LIVE_UI !== "0") {
    try {
      await liveTab(context, problems);
      result.checks.live_tab = { ok: true };
    } catch (error) {
      result.checks.live_tab = { ok: false, detail: error.message.split("\n")[0] };
    }
  }
} catch (error) {
  failure = failure || error.message;
} finally {
  await browser.close();
}
result = result || {};
if (problems.length) result.problems = problems;
result.failed_checks = Object.entries(result.checks || {}).filter(([, c]) => !c.ok).map(([name]) => name);
if (failure) result.error = failure;
console.log(`LIVE_RESULT ${JSON.stringify(result)}`);
if (failure) {
  console.error(`LIVE_FAILED: ${failure}`);
  process.exit(1);
}
if (result.failed_checks.length || problems.length) {
  console.error(`LIVE_FAILED: checks failed: ${[...result.failed_checks, ...problems].join("; ")}`);
  process.exit(1);
}
console.error("live: session, WHEP, WebSocket, speech, bad input and stop all work");
