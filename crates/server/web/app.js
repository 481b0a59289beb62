// Mouthpiece's web page: a client of the same HeyGen-compatible API that
// apps use. No framework and no build step: the browser runs this file as
// it is, and the server embeds it.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "mouthpiece.key";
const state = { key: localStorage.getItem(KEY), voices: [], avatars: [], polling: null, live: null };

/// One API call. Returns the reply's `data`; throws an Error whose message
/// is the server's own (it says what to change) or a plain-language one.
async function api(method, path, body, contentType) {
  const headers = { "X-Api-Key": state.key || "" };
  let payload = body;
  if (body !== undefined && !contentType) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload });
  } catch (_) {
    throw new Error("The server cannot be reached. Check your connection and try again.");
  }
  let reply = null;
  try { reply = await response.json(); } catch (_) { /* not JSON: handled below */ }
  if (response.ok && reply) return reply.data;
  const message = reply && (reply.message || (reply.error && reply.error.message));
  if (response.status === 401) {
    signOut();
    throw new Error("That API key is not valid here. Sign in again.");
  }
  if (response.status >= 500 || response.status === 429) {
    throw new Error("The server is busy or failed. Wait a moment and try again.");
  }
  throw new Error(message || `The server answered ${response.status}.`);
}

// The attribute, not the property: SVG elements have no `hidden` property.
function show(element, visible) { element.toggleAttribute("hidden", !visible); }

function fail(element, error) {
  element.textContent = error ? error.message || String(error) : "";
  show(element, Boolean(error));
}

// ---- Sign-in -------------------------------------------------------------

async function signIn(key) {
  state.key = key.trim();
  await api("GET", "/v2/user/remaining_quota");
  localStorage.setItem(KEY, state.key);
  show($("sign-in"), false);
  show($("app"), true);
  show($("sign-out"), true);
  await Promise.all([loadVoices(), loadAvatars()]);
  loadVideos();
}

function signOut() {
  if (state.live) endLive(state.live, "signed out");
  localStorage.removeItem(KEY);
  state.key = null;
  show($("app"), false);
  show($("sign-out"), false);
  show($("sign-in"), true);
}

// ---- Tabs ----------------------------------------------------------------

const TABS = ["make", "avatars", "library", "live"];

function selectTab(name, focus) {
  for (const tab of TABS) {
    const selected = tab === name;
    const button = $(`tab-${tab}`);
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    show($(`panel-${tab}`), selected);
    if (selected && focus) button.focus();
  }
  if (name === "library") loadVideos();
}

function setUpTabs() {
  for (const tab of TABS) $(`tab-${tab}`).addEventListener("click", () => selectTab(tab));
  document.querySelector(".tabs").addEventListener("keydown", (event) => {
    const current = TABS.findIndex((t) => $(`tab-${t}`).getAttribute("aria-selected") === "true");
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (step) selectTab(TABS[(current + step + TABS.length) % TABS.length], true);
  });
  document.querySelectorAll("[data-goto]").forEach((b) => b.addEventListener("click", () => selectTab(b.dataset.goto, true)));
}

// ---- Voices --------------------------------------------------------------

async function loadVoices() {
  state.voices = (await api("GET", "/v2/voices")).voices;
  fillLiveVoices();
  const languages = [...new Set(state.voices.map((v) => v.language))].sort();
  $("language").replaceChildren(...languages.map((l) => new Option(l, l)));
  $("language").value = "English";
  fillVoices();
}

function fillVoices() {
  const language = $("language").value;
  const gender = $("gender").value;
  const matching = state.voices.filter((v) => v.language === language && (!gender || v.gender === gender));
  $("voice").replaceChildren(...matching.map((v) => new Option(`${v.name} · ${v.gender}`, v.voice_id)));
  $("preview-voice").disabled = matching.length === 0;
}

/// The live tab's voices: every voice, grouped by language, English first.
function fillLiveVoices() {
  const select = $("live-voice");
  const chosen = select.value;
  const languages = [...new Set(state.voices.map((v) => v.language))].sort((a, b) =>
    (b === "English") - (a === "English") || a.localeCompare(b));
  select.replaceChildren(...languages.map((language) => {
    const group = document.createElement("optgroup");
    group.label = language;
    group.append(...state.voices.filter((v) => v.language === language)
      .map((v) => new Option(`${v.name} · ${v.gender}`, v.voice_id)));
    return group;
  }));
  if (state.voices.some((v) => v.voice_id === chosen)) select.value = chosen;
}

function previewVoice() {
  const voice = state.voices.find((v) => v.voice_id === $("voice").value);
  if (!voice) return;
  const audio = $("voice-sample");
  audio.src = voice.preview_audio;
  audio.play().catch(() => {});
}

// ---- Avatars -------------------------------------------------------------

async function loadAvatars() {
  const data = await api("GET", "/v2/avatar_group.list");
  state.avatars = data.avatar_group_list;
  const ready = state.avatars.filter((a) => a.train_status !== "failed");
  const select = $("avatar");
  const chosen = select.value;
  select.replaceChildren(...ready.map((a) => new Option(a.name, a.id)));
  if (ready.some((a) => a.id === chosen)) select.value = chosen;
  show($("no-avatar"), ready.length === 0);
  $("generate").disabled = ready.length === 0;
  const liveChosen = $("live-avatar").value;
  $("live-avatar").replaceChildren(...ready.map((a) => new Option(a.name, a.id)));
  if (ready.some((a) => a.id === liveChosen)) $("live-avatar").value = liveChosen;
  show($("live-no-avatar"), ready.length === 0);
  updateLiveControls();
  show($("avatars-empty"), state.avatars.length === 0);
  $("avatar-list").replaceChildren(...state.avatars.map(avatarTile));
}

function avatarTile(avatar) {
  const item = document.createElement("li");
  const image = document.createElement("img");
  image.src = avatar.preview_image;
  image.alt = `Photo of ${avatar.name}`;
  image.loading = "lazy";
  const meta = document.createElement("div");
  meta.className = "meta";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = avatar.name;
  const status = document.createElement("span");
  status.className = "state";
  status.textContent = { ready: "Ready", failed: "Could not be used", training: "Analysing…", pending: "Waiting…" }[avatar.train_status] || avatar.train_status;
  const actions = document.createElement("div");
  actions.className = "actions";
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "danger";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", `Delete avatar ${avatar.name}`);
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete the avatar "${avatar.name}"? Videos made with it stay.`)) return;
    try {
      await api("DELETE", `/v1/talking_photo/${encodeURIComponent(avatar.id)}`);
      await loadAvatars();
    } catch (error) { alert(error.message); }
  });
  actions.append(remove);
  meta.append(name, status, actions);
  item.append(image, meta);
  return item;
}

let chosenPhoto = null;

function choosePhoto(blob) {
  if (!blob || !/^image\/(png|jpeg|webp)$/.test(blob.type)) {
    fail($("avatar-error"), new Error("Choose a PNG, JPEG or WebP photo."));
    return;
  }
  fail($("avatar-error"), null);
  chosenPhoto = blob;
  $("photo-preview").src = URL.createObjectURL(blob);
  show($("photo-frame"), true);
  show($("face-outline"), false);
  $("drop-text").textContent = "Another photo? Drop it here, or";
  $("create-avatar").disabled = false;
  $("avatar-status").textContent = "";
}

function setUpPhotoInput() {
  const drop = $("drop");
  $("photo").addEventListener("change", (event) => choosePhoto(event.target.files[0]));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    choosePhoto(event.dataTransfer.files[0]);
  });
  $("camera").addEventListener("click", startCamera);
  $("snap").addEventListener("click", snapPhoto);
}

async function startCamera() {
  const view = $("camera-view");
  try {
    view.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" } });
  } catch (_) {
    fail($("avatar-error"), new Error("The camera is not available here; choose a photo instead."));
    return;
  }
  await view.play();
  show(view, true);
  show($("snap"), true);
}

function snapPhoto() {
  const view = $("camera-view");
  const canvas = document.createElement("canvas");
  canvas.width = view.videoWidth;
  canvas.height = view.videoHeight;
  canvas.getContext("2d").drawImage(view, 0, 0);
  view.srcObject.getTracks().forEach((track) => track.stop());
  show(view, false);
  show($("snap"), false);
  canvas.toBlob((blob) => choosePhoto(blob), "image/jpeg", 0.92);
}

async function createAvatar(event) {
  event.preventDefault();
  if (!chosenPhoto) return;
  const button = $("create-avatar");
  const status = $("avatar-status");
  button.disabled = true;
  fail($("avatar-error"), null);
  try {
    status.textContent = "Uploading the photo…";
    const asset = await api("POST", "/v1/asset", chosenPhoto, chosenPhoto.type);
    const name = $("avatar-name").value.trim() || "My avatar";
    const group = await api("POST", "/v2/photo_avatar/avatar_group/create", { name, image_key: asset.image_key });
    await api("POST", "/v2/photo_avatar/train", { group_id: group.id });
    status.textContent = "Finding the face…";
    let trained;
    for (;;) {
      trained = await api("GET", `/v2/photo_avatar/train/status/${encodeURIComponent(group.id)}`);
      if (trained.status === "ready" || trained.status === "failed") break;
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    if (trained.status === "failed") throw new Error(trained.error_msg || "The photo could not be used.");
    if (trained.face_outline) {
      $("face-outline").querySelector("polygon").setAttribute("points", trained.face_outline.map((p) => p.join(",")).join(" "));
      show($("face-outline"), true);
    }
    const more = trained.faces_found > 1 ? ` ${trained.faces_found} faces were found; the largest one talks.` : "";
    status.textContent = `Ready: “${name}” can talk now.${more}`;
    await loadAvatars();
    $("avatar").value = group.id;
  } catch (error) {
    status.textContent = "";
    fail($("avatar-error"), error);
    loadAvatars().catch(() => {});
  } finally {
    button.disabled = false;
  }
}

// ---- Videos --------------------------------------------------------------

function updateCount() {
  const count = $("text").value.length;
  $("text-count").textContent = `${count} / 5000 characters`;
}

async function makeVideo(event) {
  event.preventDefault();
  const error = $("make-error");
  fail(error, null);
  const text = $("text").value.trim();
  if (!text) return fail(error, new Error("Type what the avatar should say."));
  if (!$("avatar").value) return fail(error, new Error("Make an avatar first."));
  const [width, height] = document.querySelector('input[name="size"]:checked').value.split("x").map(Number);
  const button = $("generate");
  button.disabled = true;
  try {
    let background = { type: "color", value: $("background-colour").value };
    const image = $("background-image").files[0];
    if (image) {
      const asset = await api("POST", "/v1/asset", image, image.type);
      background = { type: "image", image_asset_id: asset.id };
    }
    const order = {
      video_inputs: [{
        character: { type: "talking_photo", talking_photo_id: $("avatar").value },
        voice: { type: "text", input_text: text, voice_id: $("voice").value },
        background,
      }],
      dimension: { width, height },
      caption: $("captions").checked,
      title: text.slice(0, 60),
    };
    const made = await api("POST", "/v2/video/generate", order);
    await follow(made.video_id);
  } catch (failure) {
    fail(error, failure);
  } finally {
    button.disabled = false;
  }
}

/// Polls a video until it is done, with a progress bar, then plays it.
async function follow(videoId) {
  show($("result-empty"), false);
  show($("player"), false);
  show($("downloads"), false);
  show($("progress-box"), true);
  const bar = $("progress");
  const text = $("progress-text");
  for (;;) {
    const video = await api("GET", `/v1/video_status.get?video_id=${encodeURIComponent(videoId)}`);
    if (video.status === "completed") return play(video);
    if (video.status === "failed") {
      show($("progress-box"), false);
      throw new Error((video.error && video.error.message) || "The video could not be made.");
    }
    bar.value = video.progress || 0;
    const left = video.eta_seconds != null ? ` — about ${Math.max(1, Math.round(video.eta_seconds))} s left` : "";
    text.textContent = video.status === "pending" ? "Waiting for a free worker…" : `${Math.round(video.progress || 0)}%${left}`;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

function play(video) {
  show($("progress-box"), false);
  const player = $("player");
  player.src = video.video_url;
  show(player, true);
  player.play().catch(() => {});
  const links = [["Download MP4", video.video_url], ["Captions (SRT)", video.caption_url],
    ["Video with captions", video.video_url_caption], ["GIF", video.gif_url]];
  $("downloads").replaceChildren(...links.filter(([, url]) => url).map(([label, url]) => {
    const link = document.createElement("a");
    link.href = url;
    link.textContent = label;
    link.download = "";
    return link;
  }));
  show($("downloads"), true);
}

async function loadVideos() {
  let data;
  try { data = await api("GET", "/v1/video.list"); } catch (_) { return; }
  show($("videos-empty"), data.videos.length === 0);
  $("video-list").replaceChildren(...data.videos.map(videoTile));
}

function videoTile(video) {
  const item = document.createElement("li");
  const image = document.createElement("img");
  image.alt = video.video_title ? `Video: ${video.video_title}` : "Video";
  if (video.thumbnail_url) image.src = video.thumbnail_url;
  const meta = document.createElement("div");
  meta.className = "meta";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = video.video_title || "Untitled";
  const when = document.createElement("span");
  when.className = "state";
  when.textContent = `${video.status} · ${new Date(video.created_at * 1000).toLocaleString()}`;
  const actions = document.createElement("div");
  actions.className = "actions";
  if (video.status === "completed") {
    const open = document.createElement("button");
    open.type = "button";
    open.textContent = "Play";
    open.addEventListener("click", async () => {
      selectTab("make");
      play(await api("GET", `/v1/video_status.get?video_id=${encodeURIComponent(video.video_id)}`));
    });
    actions.append(open);
  }
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "danger";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", `Delete video ${video.video_title || video.video_id}`);
  remove.addEventListener("click", async () => {
    if (!confirm("Delete this video and its files?")) return;
    try {
      await api("DELETE", `/v1/video.delete?video_id=${encodeURIComponent(video.video_id)}`);
      loadVideos();
    } catch (error) { alert(error.message); }
  });
  actions.append(remove);
  meta.append(name, when, actions);
  item.append(image, meta);
  return item;
}

// ---- Live ----------------------------------------------------------------
// A live session: the picture and sound come over WebRTC (WHEP), what to say
// goes over a WebSocket, both with the session's own token.

const LIVE_STATES = { idle: "Not started", connecting: "Connecting…", live: "Live", closed: "Closed" };
const KEEP_ALIVE_MS = 20000;
let liveEvents = 0;

/// One live-session HTTP call: with the API key, or with the session's token
/// when one is given. Returns the response; throws an Error with the
/// server's own message (HTTP error bodies in either error shape).
async function liveFetch(url, { method = "POST", token, body, sdp } = {}) {
  const headers = token ? { Authorization: `Bearer ${token}` } : { "X-Api-Key": state.key || "" };
  let payload;
  if (sdp !== undefined) {
    headers["Content-Type"] = "application/sdp";
    payload = sdp;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload });
  } catch (_) {
    throw new Error("The server cannot be reached. Check your connection and try again.");
  }
  if (response.ok) return response;
  let reply = null;
  try { reply = await response.json(); } catch (_) { /* not JSON: handled below */ }
  const message = reply && ((reply.error && reply.error.message) || reply.message);
  if (response.status === 401) {
    if (!token) {
      signOut();
      throw new Error("That API key is not valid here. Sign in again.");
    }
    throw new Error("This live session has ended or its token is no longer valid. Start a new one.");
  }
  if (response.status >= 500 || (response.status === 429 && !message)) {
    throw new Error("The server is busy or failed. Wait a moment and try again.");
  }
  throw new Error(message || `The server answered ${response.status}.`);
}

async function liveData(url, options) {
  const reply = await (await liveFetch(url, options)).json();
  return reply.data;
}

function setLiveState(name) {
  if (name === "live" && state.live) state.live.wentLive = true;
  const badge = $("live-state");
  badge.dataset.state = name;
  badge.textContent = LIVE_STATES[name];
  updateLiveControls();
}

/// A session is live, and takes sentences, once its picture plays and its
/// control socket is open: on a loaded server either may come first, and a
/// sentence sent before the socket opens would be lost.
function goLiveWhenReady(session) {
  if (state.live !== session || session.closed || $("live-state").dataset.state !== "connecting") return;
  const socketOpen = session.socket && session.socket.readyState === WebSocket.OPEN;
  if (socketOpen && session.playing) setLiveState("live");
}

function updateLiveControls() {
  const current = $("live-state").dataset.state;
  const active = Boolean(state.live);
  const live = active && current === "live";
  $("live-start").disabled = active || !$("live-avatar").value;
  for (const id of ["live-avatar", "live-voice", "live-quality"]) $(id).disabled = active;
  $("live-stop").disabled = !active || state.live.stopping;
  $("live-say").disabled = !live;
  $("live-interrupt").disabled = !live;
}

async function startLive(event) {
  event.preventDefault();
  if (state.live) return;
  const error = $("live-error");
  fail(error, null);
  if (!$("live-avatar").value) return fail(error, new Error("Make an avatar first."));
  if (!$("live-voice").value) return fail(error, new Error("Choose a voice."));
  const session = { speaking: new Set() };
  state.live = session;
  $("live-speaking").textContent = "";
  setLiveState("connecting");
  // The photo stands in for the picture until the first frame arrives.
  const avatar = state.avatars.find((a) => a.id === $("live-avatar").value);
  const video = $("live-video");
  video.poster = (avatar && avatar.preview_image) || "";
  show(video, true);
  show($("live-empty"), false);
  // On a narrow screen the picture is below the form: bring it into view.
  if (matchMedia("(max-width: 800px)").matches) $("live-title").scrollIntoView({ behavior: "smooth", block: "start" });
  const current = () => state.live === session && !session.closed;
  try {
    const made = await liveData("/v1/sessions/token", { body: {
      avatar_id: $("live-avatar").value,
      mode: document.querySelector('input[name="live-mode"]:checked').value,
      voice_id: $("live-voice").value,
      video_quality: $("live-quality").value,
    } });
    session.id = made.session_id;
    session.token = made.session_token;
    if (!current()) {
      // Stopped while the token was on its way: that session is not wanted either.
      liveFetch("/v1/sessions/stop", { token: session.token, body: { session_id: session.id, reason: "stopped while starting" } })
        .catch(() => {});
      return;
    }
    const started = await liveData("/v1/sessions/start", { token: session.token, body: { session_id: session.id } });
    if (!current()) return endLive(session, "stopped while starting");
    openControl(session, started.ws_url);
    await connectVideo(session, started.whep_url);
    if (!current()) return;
    session.keepAlive = setInterval(() => keepAlive(session), KEEP_ALIVE_MS);
  } catch (failure) {
    if (session.closed) return;
    fail(error, failure);
    endLive(session, "the session could not start");
  }
}

/// The control WebSocket: what to say goes out, the session's events come in.
function openControl(session, wsUrl) {
  const url = new URL(wsUrl, location.href);
  url.searchParams.set("session_token", session.token);
  const socket = new WebSocket(url.href);
  session.socket = socket;
  socket.addEventListener("open", () => goLiveWhenReady(session));
  socket.addEventListener("message", (event) => onLiveEvent(session, event.data));
  socket.addEventListener("close", () => {
    if (session.closed || session.stopping) return;
    fail($("live-error"), new Error("The connection to the live session was lost. Start again."));
    endLive(session, "control connection lost");
  });
}

function onLiveEvent(session, data) {
  if (session.closed) return;
  let message;
  try { message = JSON.parse(data); } catch (_) { return; }
  switch (message.type) {
    case "session.state_updated":
      if (message.state === "connected") goLiveWhenReady(session);
      else if (message.state === "closed") endLive(session, null, true);
      break;
    case "avatar.speak_started":
      session.speaking.add(message.event_id);
      $("live-speaking").textContent = "Speaking…";
      break;
    case "avatar.speak_ended":
      session.speaking.delete(message.event_id);
      if (session.speaking.size === 0) $("live-speaking").textContent = "";
      break;
    case "error":
      fail($("live-error"), new Error(message.message || `The session refused that (${message.code}).`));
      break;
    default:
      break;
  }
}

/// The picture and sound: a receive-only WebRTC connection offered by WHEP
/// (the whole offer at once, its candidates gathered first).
async function connectVideo(session, whepUrl) {
  const peer = new RTCPeerConnection();
  session.peer = peer;
  peer.addTransceiver("video", { direction: "recvonly" });
  peer.addTransceiver("audio", { direction: "recvonly" });
  peer.addEventListener("connectionstatechange", () => {
    if (peer.connectionState === "failed" && !session.closed) {
      fail($("live-error"), new Error("The video connection was lost. Stop and start again."));
    }
  });
  await peer.setLocalDescription(await peer.createOffer());
  await new Promise((resolve) => {
    if (peer.iceGatheringState === "complete") return resolve();
    const done = () => { if (peer.iceGatheringState === "complete") resolve(); };
    peer.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 2000);
  });
  if (session.closed) return;
  const response = await liveFetch(whepUrl, { token: session.token, sdp: peer.localDescription.sdp });
  const resource = response.headers.get("Location");
  if (resource) session.whepResource = new URL(resource, whepUrl).href;
  const answer = await response.text();
  if (session.closed) return;
  await peer.setRemoteDescription({ type: "answer", sdp: answer });
  const video = $("live-video");
  video.srcObject = new MediaStream(peer.getReceivers().map((receiver) => receiver.track));
  playLive(video);
}

/// Plays with sound; a browser that blocks sound without a click plays it
/// muted and offers to unmute.
async function playLive(video) {
  video.muted = false;
  try {
    await video.play();
  } catch (error) {
    if (error.name !== "NotAllowedError") return;
    video.muted = true;
    show($("live-unmute"), true);
    await video.play().catch(() => {});
  }
}

function unmuteLive() {
  const video = $("live-video");
  video.muted = false;
  video.play().catch(() => {});
  show($("live-unmute"), false);
}

function sendLive(message) {
  const session = state.live;
  if (!session || !session.socket || session.socket.readyState !== WebSocket.OPEN) {
    fail($("live-error"), new Error("The session is not live yet. Start it first."));
    return false;
  }
  session.socket.send(JSON.stringify(message));
  return true;
}

function sayLive(event) {
  event.preventDefault();
  const text = $("live-text").value.trim();
  if (!text) return fail($("live-error"), new Error("Type what the avatar should say."));
  fail($("live-error"), null);
  liveEvents += 1;
  if (sendLive({ type: "avatar.speak_text", text, event_id: `web-${Date.now()}-${liveEvents}` })) $("live-text").value = "";
}

function interruptLive() {
  if (sendLive({ type: "avatar.interrupt" })) {
    state.live.speaking.clear();
    $("live-speaking").textContent = "";
  }
}

function keepAlive(session) {
  if (session.closed) return;
  if (session.socket && session.socket.readyState === WebSocket.OPEN) {
    session.socket.send(JSON.stringify({ type: "session.keep_alive" }));
  } else {
    liveFetch("/v1/sessions/keep-alive", { token: session.token, body: { session_id: session.id } }).catch(() => {});
  }
}

async function stopLive() {
  const session = state.live;
  if (!session || session.stopping) return;
  session.stopping = true;
  updateLiveControls();
  await endLive(session, "stopped by the user");
}

/// Ends a session: asks the server to stop it (unless the server closed it),
/// then lets go of the connection, the socket and the picture.
async function endLive(session, reason, closedByServer) {
  if (session.closed) return;
  session.closed = true;
  session.stopping = true;
  clearInterval(session.keepAlive);
  if (state.live === session) {
    state.live = null;
    setLiveState("closed");
  }
  $("live-speaking").textContent = closedByServer ? "The session ended." : "";
  const video = $("live-video");
  video.pause();
  video.srcObject = null;
  show(video, false);
  show($("live-unmute"), false);
  $("live-empty").textContent = session.wentLive
    ? "The session has ended. Start again to talk some more."
    : "No live video: the session did not start.";
  show($("live-empty"), true);
  let stopped = closedByServer;
  if (!closedByServer && session.token && session.id) {
    try {
      await liveFetch("/v1/sessions/stop", { token: session.token, body: { session_id: session.id, reason } });
      stopped = true;
    } catch (_) { /* already over on the server: nothing left to stop */ }
  }
  if (!stopped && session.whepResource) {
    fetch(session.whepResource, { method: "DELETE", headers: { Authorization: `Bearer ${session.token}` } }).catch(() => {});
  }
  if (session.peer) session.peer.close();
  if (session.socket) session.socket.close();
}

function setUpLive() {
  $("live-form").addEventListener("submit", startLive);
  $("live-say-form").addEventListener("submit", sayLive);
  $("live-interrupt").addEventListener("click", interruptLive);
  $("live-stop").addEventListener("click", stopLive);
  $("live-unmute").addEventListener("click", unmuteLive);
  $("live-video").addEventListener("playing", () => {
    if (!state.live) return;
    state.live.playing = true;
    goLiveWhenReady(state.live);
  });
  // Leaving the page ends the session rather than leaving it to time out.
  window.addEventListener("pagehide", () => {
    const session = state.live;
    if (!session || !session.token) return;
    fetch("/v1/sessions/stop", {
      method: "POST", keepalive: true,
      headers: { Authorization: `Bearer ${session.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ session_id: session.id, reason: "page closed" }),
    }).catch(() => {});
  });
  updateLiveControls();
}

// ---- Start ---------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  setUpTabs();
  setUpPhotoInput();
  setUpLive();
  $("language").addEventListener("change", fillVoices);
  $("gender").addEventListener("change", fillVoices);
  $("preview-voice").addEventListener("click", previewVoice);
  $("text").addEventListener("input", updateCount);
  $("make-form").addEventListener("submit", makeVideo);
  $("avatar-form").addEventListener("submit", createAvatar);
  $("sign-out").addEventListener("click", signOut);
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    fail($("sign-in-error"), null);
    try { await signIn($("api-key").value); } catch (error) { state.key = null; fail($("sign-in-error"), error); }
  });
  updateCount();
  // A link with ?key=… signs in directly (the demo prints one); the key then leaves the address bar.
  const fromLink = new URLSearchParams(location.search).get("key");
  if (fromLink) {
    history.replaceState(null, "", location.pathname);
    state.key = fromLink;
  }
  if (state.key) {
    try { await signIn(state.key); return; } catch (error) { fail($("sign-in-error"), error); }
  }
  signOut();
});
