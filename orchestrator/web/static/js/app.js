// The Chroom web client: join form, video tiles, controls, participants
// with host controls, chat and files, connection statistics and the
// serving node's rewards. window.chroom is a small hook for end-to-end tests.

// Built on the Chroom JavaScript SDK (@chroom/client, sdk/js), which the
// orchestrator serves at /sdk/.
import {
  Orchestrator, Room, MAX_CHAT_CHARS, permissionsOf, debugLog, MAX_FILE_BYTES, rates, newClientKey,
  describeError, formatBitrate, formatBytes, formatUchr, measureNodes as measure,
} from "/sdk/index.js";

const STATS_UI_MS = 2_000;
const REWARDS_MS = 10_000;
const MAX_CHAT_KEPT = 200;
const ROLES = ["host", "presenter", "participant", "viewer"];
// What the join form may ask for: the web client joins without an API
// key, and the orchestrator never makes an anonymous join host or
// presenter (nor lets it choose its identity).
const JOIN_ROLES = ["participant", "viewer"];
const VIDEO_CONSTRAINTS = { width: { ideal: 960 }, height: { ideal: 540 }, frameRate: { ideal: 30 } };

const $ = (id) => document.getElementById(id);

const hook = { state: "idle", identity: null, room: null, nodeId: null, role: null, error: null, lastChat: [], timing: null, rttLog: [] };
const MAX_RTT_LOG = 2000;
// How often, and for how long, the first decoded video frame and audio
// sample are looked for after joining (for window.chroom.timing()).
const FIRST_MEDIA_POLL_MS = 50;
const FIRST_MEDIA_WATCH_MS = 120_000;
let call = null;
let api = null;
let uiTimers = [];
let prevSample = null;
const tiles = new Map(); // key → {el, video, avatar, name, badges, streamKey}
const fileItems = new Map(); // `${from}\n${id}` → li

// --- small DOM helpers -----------------------------------------------------

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("aria-") || k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function setList(dl, rows) {
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v ?? "–" })]));
}

function setState(state) {
  hook.state = state;
  document.body.dataset.state = state;
}

let noticeTimer = null;

/** showError puts a message in the alert banner (and window.chroom.error). */
function showError(message) {
  const text = describeError(message);
  hook.error = text;
  $("error-text").textContent = text;
  $("error").hidden = false;
  console.warn("chroom:", text);
}

function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
}

/** showNotice is a passing, non-error message. */
function showNotice(text) {
  $("notice").textContent = text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => ($("notice").textContent = ""), 8_000);
}

function setStatus(text) {
  $("status").textContent = text;
}

function shortId(id) {
  return id && id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id || "–";
}

function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] || "?") + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

// --- joining ---------------------------------------------------------------


function mediaErrorText(e) {
  switch (e?.name) {
    case "NotAllowedError":
      return "permission was denied (allow camera and microphone for this site)";
    case "NotFoundError":
    case "OverconstrainedError":
      return "no such device was found";
    case "NotReadableError":
      return "the device is in use by another application or cannot be opened";
    case "SecurityError":
      return "the browser blocks capture here (open the page over https or on localhost)";
    case "AbortError":
      return "the device could not be started";
    default:
      return describeError(e);
  }
}

/** openMedia captures camera and microphone; it never throws, it reports and degrades. */
async function openMedia(audioOnly) {
  const what = audioOnly ? "the microphone" : "camera and microphone";
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError(`Opening ${what} failed: this browser cannot capture media on this page (it needs https or localhost). You joined without them.`);
    return null;
  }
  const tries = audioOnly
    ? [{ audio: true }]
    : [{ audio: true, video: VIDEO_CONSTRAINTS }, { audio: true }, { video: VIDEO_CONSTRAINTS }];
  let first = null;
  for (const constraints of tries) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      if (first) {
        const missing = constraints.video ? "microphone" : "camera";
        showError(`Opening the ${missing} failed: ${mediaErrorText(first)}. You joined without it.`);
      }
      return stream;
    } catch (e) {
      first ??= e;
    }
  }
  showError(`Opening ${what} failed: ${mediaErrorText(first)}. You joined without them; use the buttons to try again.`);
  return null;
}

// measureNodes measures the media nodes the orchestrator proposes for
// room (the SDK's measureNodes) and keeps the figures for the test hook.
async function measureNodes(orchestrator, room) {
  const { rtts, placement } = await measure(orchestrator, room);
  hook.placement = placement;
  if (placement) debugLog.add("media nodes measured", placement);
  return rtts;
}

/**
 * joinRoom joins a room: it asks the orchestrator for a grant, captures
 * media, and connects to the media node. It resolves when joined and
 * rejects with the failed step's message.
 */
// presetGrant is the join answer an app's backend put in the page's
// fragment (#grant=<base64url of the JSON join answer>), or null. The
// fragment never reaches a server.
function presetGrant() {
  const m = /(?:^#|&)grant=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (!m) return null;
  try {
    const b64 = m[1].replace(/-/g, "+").replace(/_/g, "/");
    const g = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
    return g && typeof g.token === "string" && g.media_node ? g : null;
  } catch {
    return null;
  }
}

async function joinRoom({ room, name, role, audioOnly, unreachableNode } = {}) {
  if (hook.state === "joining" || hook.state === "joined" || hook.state === "reconnecting") throw new Error("already in a call; leave first");
  room = String(room ?? "").trim();
  name = String(name ?? "").trim();
  if (!room) throw failJoin(new Error("Joining failed: enter a room name"));
  if (!name) name = "Guest";
  if (role && !JOIN_ROLES.includes(role)) throw failJoin(new Error(`Joining failed: the web client joins as participant or viewer, not ${role}`));

  lastJoin = { room, name, role, audioOnly };
  resetCallUI();
  clearError();
  hook.timing = { start: performance.now(), startedAt: Date.now(), joined: null, firstFrame: null, firstAudio: null };
  debugLog.add("join started", { room, visibility: document.visibilityState });
  hook.error = null;
  hook.room = room;
  hook.identity = null;
  hook.nodeId = null;
  hook.role = null;
  setState("joining");
  setJoinBusy(true);
  try {
    localStorage.setItem("chroom.name", name);
  } catch {
    // private mode
  }

  setStatus("Asking the orchestrator for a place in the room…");
  api = new Orchestrator();
  let grant;
  let clientKey = null;
  const preset = presetGrant();
  if (preset && preset.room === room && !unreachableNode) {
    // A grant the app's backend obtained (#grant=…): join with it as is.
    grant = preset;
  } else {
    const [key, rttMs] = await Promise.all([newClientKey(), measureNodes(api, room)]);
    clientKey = key;
    try {
      grant = await api.join(room, { name, role: role || undefined, clientKey: clientKey?.publicKey, rttMs, unreachableNode });
    } catch (e) {
      throw failJoin(e);
    }
  }
  // An audio space sends and receives audio only.
  if (grant.room_options?.mode === "audio_space") audioOnly = true;
  hook.roomMode = grant.room_options?.mode || "call";
  grant.clientKey = clientKey;
  grant.receivedAt = performance.now();
  hook.attested = clientKey !== null;
  hook.identity = grant.identity;
  hook.room = grant.room || room;
  hook.role = grant.role || "participant";
  hook.nodeId = grant.media_node.id || null;
  debugLog.add("grant received", { identity: hook.identity, role: hook.role, node: hook.nodeId });

  let media = null;
  if (permissionsOf(hook.role).publish) {
    setStatus(audioOnly ? "Opening your microphone…" : "Opening your camera and microphone…");
    media = await openMedia(audioOnly);
  }

  setStatus(`Connecting to media node ${shortId(hook.nodeId)}…`);
  call = new Room({ grant: { ...grant, identity: hook.identity, room: hook.room, role: hook.role }, name, media, api, audioOnly: !!audioOnly });
  wireCall(call);
  try {
    await call.open();
  } catch (e) {
    throw failJoin(e);
  }
  hook.identity = call.identity;
  hook.role = call.role;
  hook.timing.joined = performance.now() - hook.timing.start;
  watchFirstMedia(call, hook.timing);
  setState("joined");
  setJoinBusy(false);
  enterCallUI();
  return { identity: hook.identity, room: hook.room, role: hook.role, nodeId: hook.nodeId };
}

// watchFirstMedia records when the call first decodes a video frame and
// an audio sample (ms since join started). A hidden tab's timers run at
// most once a second, which bounds the resolution there.
async function watchFirstMedia(c, timing) {
  const until = performance.now() + FIRST_MEDIA_WATCH_MS;
  while (!c.closed && performance.now() < until && (timing.firstFrame === null || timing.firstAudio === null)) {
    if (timing.firstFrame === null && (await c.framesDecoded()) > 0) {
      timing.firstFrame = performance.now() - timing.start;
      debugLog.add("first video frame decoded", { ms: Math.round(timing.firstFrame), visibility: document.visibilityState });
    }
    if (timing.firstAudio === null && (await c.audioSamplesReceived()) > 0) {
      timing.firstAudio = performance.now() - timing.start;
      debugLog.add("first audio decoded", { ms: Math.round(timing.firstAudio), visibility: document.visibilityState });
    }
    await new Promise((r) => setTimeout(r, FIRST_MEDIA_POLL_MS));
  }
}

function failJoin(e) {
  const err = e instanceof Error ? e : new Error(describeError(e));
  debugLog.add("join failed", { error: err.message });
  setState("error");
  setJoinBusy(false);
  setStatus("");
  showError(err.message);
  call = null;
  return err;
}

function setJoinBusy(busy) {
  $("join-button").disabled = busy;
  $("join-button").textContent = busy ? "Joining…" : "Join";
  $("join-form").setAttribute("aria-busy", String(busy));
}

function wireCall(c) {
  c.addEventListener("update", () => {
    const changed = hook.role !== c.role;
    hook.role = c.role;
    render();
    if (changed) onStageChange(c);
  });
  c.addEventListener("local", () => {
    if (hook.role !== c.role) {
      hook.role = c.role;
      onStageChange(c);
    }
    render();
  });
  c.addEventListener("chat", (e) => addChat(e.detail));
  c.addEventListener("rtt", (e) => onRealtimeText(e.detail));
  c.addEventListener("hand", (e) => {
    if (e.detail.up && e.detail.identity !== c.identity && c.perms.admin) showNotice(`${c.displayName(e.detail.identity)} raised a hand.`);
  });
  c.addEventListener("file", (e) => renderFile(e.detail));
  c.addEventListener("notice", (e) => (e.detail.error ? showError(e.detail.message) : showNotice(e.detail.message)));
  c.addEventListener("connection", (e) => {
    if (e.detail.state === "connected") setStatus(`Connected to media node ${shortId(hook.nodeId)}${c.node.region ? ` (${c.node.region})` : ""}.`);
    else if (e.detail.state === "disconnected") setStatus("Media connection interrupted; trying to recover…");
  });
  c.addEventListener("ended", (e) => onEnded(e.detail));
  c.addEventListener("reconnecting", () => {
    setState("reconnecting");
    setStatus("Reconnecting to the media node…");
  });
  c.addEventListener("reconnected", () => {
    setState("joined");
    setStatus(`Reconnected to media node ${shortId(hook.nodeId)}.`);
  });
}

// A call whose media node lost the session or cannot be reached is joined
// again through the orchestrator (which places the room on another node
// if its node stopped reporting or does not answer its probe): attempts
// backing off from 1 s (at once for a node found unreachable) to 8 s, for
// up to REJOIN_GIVE_UP_MS. The others see a leave and a join. The budget
// is time, not tries: a client that gave up resuming early (a node that
// refuses connections) keeps trying as long as one that waited out the
// 18 s resume window would have.
const REJOIN_GIVE_UP_MS = 45_000;
let lastJoin = null;

function onEnded({ reason, error, rejoin, unreachableNode }) {
  if (rejoin && lastJoin) {
    rejoinAfterLoss(reason, unreachableNode);
    return;
  }
  setState(error ? "error" : "left");
  if (error) showError(reason);
  else showNotice(reason);
  setStatus(reason);
  leaveCallUI();
}

async function rejoinAfterLoss(reason, unreachableNode) {
  hook.rejoins = (hook.rejoins || 0) + 1;
  debugLog.add("rejoining through the orchestrator", { reason, unreachableNode });
  setState("reconnecting");
  setStatus(`${reason} Joining again…`);
  // A node known to be gone: ask at once (the orchestrator checks it and
  // moves the room); otherwise give the node a moment first.
  let wait = unreachableNode ? 0 : 1000;
  const giveUp = Date.now() + REJOIN_GIVE_UP_MS;
  let i = 0;
  for (; Date.now() < giveUp; i++) {
    await new Promise((r) => setTimeout(r, wait));
    if (hook.state !== "reconnecting" && hook.state !== "error") return; // left, or joined by hand
    try {
      setState("left");
      await joinRoom({ ...lastJoin, unreachableNode });
      debugLog.add("rejoined", { attempt: i + 1, node: hook.nodeId });
      return;
    } catch (e) {
      debugLog.add("rejoin failed", { attempt: i + 1, error: describeError(e) });
      setState("reconnecting");
      wait = Math.min(Math.max(wait, 500) * 2, 8000);
    }
  }
  onEnded({ reason: `${reason} Joining again failed ${i} times in ${REJOIN_GIVE_UP_MS / 1000} s.`, error: true });
}

async function leave() {
  if (hook.state === "reconnecting" && (!call || call.closed)) {
    setState("left"); // stops rejoinAfterLoss
    leaveCallUI();
    return;
  }
  if (!call || call.closed) return;
  $("leave-button").disabled = true;
  await call.leave();
}

// --- call view -------------------------------------------------------------

function enterCallUI() {
  $("join-view").hidden = true;
  $("call-view").hidden = false;
  $("room-title").textContent = `Room ${hook.room}`;
  $("room-title").hidden = false;
  $("leave-button").disabled = false;
  try {
    const u = new URL(location.href);
    u.searchParams.set("room", hook.room);
    u.searchParams.delete("autojoin");
    history.replaceState(null, "", u);
  } catch {
    // not important
  }
  prevSample = null;
  uiTimers.push(setInterval(updateStats, STATS_UI_MS));
  uiTimers.push(setInterval(updateRewards, REWARDS_MS));
  updateStats();
  updateRewards();
  $("rtt-panel").hidden = !realtimeTextWanted();
  render();
  $("chat-input").focus();
}

// realtimeTextWanted: the room has real-time text on (room option
// realtime_text, set when the app created the room) or the page asked
// for it (?rtt=1).
function realtimeTextWanted() {
  if (call?.grant?.room_options?.realtime_text) return true;
  return /^(1|true|yes)$/i.test(new URLSearchParams(location.search).get("rtt") || "");
}

function leaveCallUI() {
  for (const t of uiTimers) clearInterval(t);
  uiTimers = [];
  for (const t of tiles.values()) t.video.srcObject = null;
  tiles.clear();
  $("tiles").replaceChildren();
  $("call-view").hidden = true;
  $("join-view").hidden = false;
  $("room-title").hidden = true;
  $("unmute-audio").hidden = true;
  $("join-button").focus();
}

function resetCallUI() {
  if (call && call.files) call.files.revoke();
  call = null;
  hook.lastChat.length = 0;
  fileItems.clear();
  $("chat-log").replaceChildren();
  $("rtt-done").replaceChildren();
  $("rtt-live").replaceChildren();
  $("rtt-input").value = "";
  hook.rttLog.length = 0;
  $("participants").replaceChildren();
  setList($("stats"), []);
  setList($("rewards"), []);
  $("rewards-error").textContent = "";
}

function render() {
  if (!call || call.closed) return;
  renderControls();
  renderTiles();
  renderParticipants();
}

function renderControls() {
  const p = call.perms;
  const mic = call.localState("microphone");
  const cam = call.localState("camera");
  const screen = call.localState("screen");
  const micBtn = $("mic-button");
  const camBtn = $("camera-button");
  const screenBtn = $("screen-button");
  micBtn.hidden = camBtn.hidden = !p.publish;
  micBtn.setAttribute("aria-pressed", String(mic.active && !mic.muted));
  camBtn.setAttribute("aria-pressed", String(cam.active && !cam.muted));
  micBtn.querySelector(".state").textContent = mic.active ? (mic.muted ? "off" : "on") : "off";
  camBtn.querySelector(".state").textContent = cam.active ? (cam.muted ? "off" : "on") : "off";
  screenBtn.hidden = !p.screen;
  screenBtn.setAttribute("aria-pressed", String(screen.active));
  screenBtn.querySelector(".label").textContent = screen.active ? "Stop sharing" : "Share screen";
  $("end-room-button").hidden = !p.admin;
  $("refresh-participants").hidden = !p.admin;
  $("viewer-note").hidden = p.publish;
  $("chat-input").disabled = $("chat-send").disabled = $("file-input").disabled = $("rtt-input").disabled = !p.data;
  $("chat-note").hidden = p.data;
  $("role-badge").textContent = roleLabel(call.role);
  const hand = $("hand-button");
  const up = call.raisedHands().includes(call.identity);
  hand.hidden = !(inAudioSpace() && !p.publish && p.data);
  hand.setAttribute("aria-pressed", String(up));
  hand.textContent = up ? "Lower hand" : "Raise hand";
}

function inAudioSpace() {
  return hook.roomMode === "audio_space";
}

// roleLabel names roles as an audio space calls them: listeners and
// speakers on the stage.
function roleLabel(role) {
  if (!inAudioSpace()) return role;
  return { viewer: "listener", participant: "speaker", presenter: "speaker" }[role] || role;
}

// onStageChange: in an audio space, a listener invited to the stage gets
// the microphone on (and the hand down); one moved back to the audience
// loses it (the node unpublished it).
function onStageChange(c) {
  if (!inAudioSpace()) return;
  const mic = c.localState("microphone");
  if (c.perms.publish && !mic.active) {
    if (c.raisedHands().includes(c.identity)) c.raiseHand(false).catch(() => {});
    showNotice("You are on the stage: your microphone is on.");
    toggleSource("microphone");
  }
}

// tileSpecs lists the tiles to show, in order: screen shares first (full
// width), then yours, then everyone else.
function tileSpecs() {
  const specs = [];
  const mic = call.localState("microphone");
  const cam = call.localState("camera");
  const screen = call.localState("screen");
  const media = call.remoteMedia();
  if (screen.active) specs.push({ key: "self:screen", identity: call.identity, label: "Your screen", self: true, screen: true, tracks: [screen.track] });
  for (const m of media) {
    if (m.kind === "video" && m.source === "screen" && !m.muted) {
      specs.push({ key: `screen:${m.trackId}`, identity: m.publisher, label: `${call.displayName(m.publisher)}'s screen`, screen: true, tracks: [m.track] });
    }
  }
  if (call.perms.publish || cam.active || mic.active) {
    specs.push({
      key: "self", identity: call.identity, label: `${call.name} (you)`, role: call.role, self: true,
      tracks: cam.active && !cam.muted ? [cam.track] : [], micOff: !mic.active || mic.muted,
    });
  }
  const publishers = new Set([...call.participants.values()].filter((p) => !p.self && p.role !== "viewer").map((p) => p.identity));
  for (const m of media) publishers.add(m.publisher);
  for (const id of publishers) {
    const mine = media.filter((m) => m.publisher === id);
    const camTrack = mine.find((m) => m.kind === "video" && m.source === "camera" && !m.muted);
    const audio = mine.filter((m) => m.kind === "audio");
    const micInfo = [...call.tracks.values()].find((t) => t.publisher === id && t.source === "microphone");
    const p = call.participants.get(id);
    specs.push({
      key: `p:${id}`, identity: id, label: call.displayName(id), role: p?.role,
      tracks: [camTrack?.track, ...audio.map((a) => a.track)].filter(Boolean), micOff: !micInfo || micInfo.muted,
    });
  }
  return specs;
}

function renderTiles() {
  const container = $("tiles");
  const specs = tileSpecs();
  const wanted = new Set(specs.map((s) => s.key));
  for (const [key, t] of tiles) {
    if (!wanted.has(key)) {
      t.video.srcObject = null;
      t.el.remove();
      tiles.delete(key);
    }
  }
  specs.forEach((spec, i) => {
    let t = tiles.get(spec.key);
    if (!t) {
      t = makeTile(spec);
      tiles.set(spec.key, t);
    }
    const streamKey = spec.tracks.map((tr) => tr.id).join(",");
    if (t.streamKey !== streamKey) {
      t.streamKey = streamKey;
      t.video.srcObject = spec.tracks.length ? new MediaStream(spec.tracks) : null;
      if (spec.tracks.length) playTile(t);
      const v = spec.tracks.find((tr) => tr.kind === "video");
      t.videoTrackId = v ? v.id : null;
      adaptTile(t);
    }
    const hasVideo = spec.tracks.some((tr) => tr.kind === "video");
    t.el.classList.toggle("has-video", hasVideo);
    t.el.classList.toggle("speaking", call.speakers.has(spec.identity) && !spec.screen);
    t.name.textContent = spec.label;
    t.avatar.textContent = initials(spec.label);
    t.video.setAttribute("aria-label", spec.screen ? spec.label : `Video of ${spec.label}`);
    const badges = [];
    if (spec.role === "host" || spec.role === "presenter") badges.push(spec.role);
    if (!spec.screen && spec.micOff) badges.push("mic off");
    if (call.speakers.has(spec.identity) && !spec.screen) badges.push("speaking");
    t.badges.textContent = badges.length ? badges.join(" · ") : "";
    if (container.children[i] !== t.el) container.insertBefore(t.el, container.children[i] || null);
  });
  $("tiles").dataset.count = String(specs.length);
}

// Adaptive stream: each remote video tile asks the media node for the
// simulcast layer its rendered size needs (≤ 240 px → low, ≤ 480 px →
// medium, else high; a hidden page → low; a tile scrolled out of view →
// none, -1), as LiveKit's adaptive stream does; the node gives at most
// that, within the bandwidth it estimates towards us. pinLayer overrides
// it (a data saver, a quality preference, tests).
let pinnedLayer = null;
const tileResize = typeof ResizeObserver === "function" ? new ResizeObserver((entries) => entries.forEach((e) => adaptTile(e.target.tile))) : null;
const tileVisibility =
  typeof IntersectionObserver === "function"
    ? new IntersectionObserver((entries) =>
        entries.forEach((e) => {
          e.target.tile.offscreen = !e.isIntersecting;
          adaptTile(e.target.tile);
        }),
      )
    : null;

function layerFor(t) {
  if (pinnedLayer !== null) return pinnedLayer;
  if (document.hidden) return 0;
  if (t.offscreen) return -1;
  const w = (t.video.clientWidth || 0) * (window.devicePixelRatio || 1);
  return w <= 240 ? 0 : w <= 480 ? 1 : 2;
}

function adaptTile(t) {
  if (!call || !t || t.self || !t.videoTrackId) return;
  const layer = layerFor(t);
  if (t.layer === layer && t.layerTrack === t.videoTrackId) return;
  t.layer = layer;
  t.layerTrack = t.videoTrackId;
  call.setLayer(t.videoTrackId, layer);
}

document.addEventListener("visibilitychange", () => tiles.forEach((t) => adaptTile(t)));

function makeTile(spec) {
  const video = el("video", { autoplay: true, playsInline: true });
  video.muted = !!spec.self; // never play your own microphone back
  const avatar = el("div", { class: "avatar", "aria-hidden": "true" });
  const name = el("span", { class: "tile-name" });
  const badges = el("span", { class: "tile-badges" });
  const fig = el("figure", { class: `tile${spec.screen ? " screen" : ""}${spec.self ? " self" : ""}`, "data-key": spec.key }, video, avatar, el("figcaption", {}, name, badges));
  const t = { el: fig, video, avatar, name, badges, streamKey: null, self: !!spec.self, videoTrackId: null, layer: null };
  video.tile = t;
  if (tileResize) tileResize.observe(video);
  if (tileVisibility) tileVisibility.observe(video);
  return t;
}

function playTile(t) {
  const p = t.video.play();
  if (p && p.catch) {
    p.catch((e) => {
      if (e.name === "NotAllowedError") $("unmute-audio").hidden = false;
    });
  }
}

function renderParticipants() {
  const list = call.participantList();
  const isHost = call.perms.admin;
  $("people-count").textContent = `(${list.length})`;
  const ul = $("participants");
  const keep = new Set();
  list.forEach((p, i) => {
    keep.add(p.identity);
    let li = [...ul.children].find((c) => c.dataset.identity === p.identity);
    if (!li) {
      li = el("li", { "data-identity": p.identity });
    }
    const sig = JSON.stringify([p.name, p.role, p.tracks, isHost, p.self, p.handRaised]);
    if (li.dataset.sig !== sig) {
      li.dataset.sig = sig;
      li.replaceChildren(...participantRow(p, isHost));
    }
    li.classList.toggle("speaking", p.speaking);
    li.querySelector(".speaking-label").textContent = p.speaking ? " (speaking)" : "";
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
  });
  for (const li of [...ul.children]) if (!keep.has(li.dataset.identity)) li.remove();
}

const SOURCE_LABEL = { microphone: "microphone", camera: "camera", screen: "screen", screen_audio: "screen audio" };

function participantRow(p, isHost) {
  const who = el("div", { class: "who" },
    el("span", { class: "dot", "aria-hidden": "true" }),
    el("strong", { text: p.name || p.identity }),
    p.self ? " (you)" : null,
    " ",
    el("span", { class: `role role-${p.role}`, text: roleLabel(p.role) }),
    p.handRaised ? el("span", { class: "hand", text: " ✋", "aria-label": "raised a hand", title: "raised a hand" }) : null,
    el("span", { class: "speaking-label visually-hidden" }));
  who.title = p.identity;
  const media = p.tracks.length
    ? p.tracks.map((t) => `${SOURCE_LABEL[t.source] || t.kind}${t.muted ? " (muted)" : ""}`).join(", ")
    : "no media";
  const rows = [who, el("div", { class: "media-state", text: media })];
  if (isHost && !p.self) rows.push(hostControls(p));
  return rows;
}

function hostControls(p) {
  const who = p.name || p.identity;
  const box = el("div", { class: "host-controls", role: "group", "aria-label": `Host controls for ${who}` });
  const select = el("select", { "aria-label": `Role of ${who}` });
  for (const r of ROLES) select.append(el("option", { value: r, text: r, selected: r === p.role }));
  select.addEventListener("change", () => {
    const role = select.value;
    hostAction(select, `${who} is now ${role}`, () => api.setRole(call.room, call.grant.token, p.identity, role))
      .then((ok) => { if (!ok) select.value = p.role; });
  });
  box.append(el("label", { class: "inline" }, "Role ", select));
  if (inAudioSpace()) {
    const onStage = p.role !== "viewer";
    const stage = el("button", { type: "button", class: "stage-button", text: onStage ? "Move to audience" : "Invite to stage",
      "aria-label": onStage ? `Move ${who} to the audience` : `Invite ${who} to the stage` });
    stage.addEventListener("click", () => hostAction(stage, onStage ? `${who} is in the audience` : `${who} is on the stage`,
      () => api.setRole(call.room, call.grant.token, p.identity, onStage ? "viewer" : "participant")));
    box.append(stage);
  }
  for (const t of p.tracks) {
    if (t.muted) continue;
    const b = el("button", { type: "button", text: `Mute ${SOURCE_LABEL[t.source] || t.kind}`, "aria-label": `Mute ${who}'s ${SOURCE_LABEL[t.source] || t.kind}` });
    b.addEventListener("click", () => hostAction(b, `Muted ${who}'s ${SOURCE_LABEL[t.source] || t.kind}`, () => api.muteTrack(call.room, call.grant.token, p.identity, t.id)));
    box.append(b);
  }
  const remove = el("button", { type: "button", class: "danger", text: "Remove", "aria-label": `Remove ${who} from the room` });
  confirmButton(remove, `Confirm: remove ${who}`, () => hostAction(remove, `Removed ${who}`, () => api.removeParticipant(call.room, call.grant.token, p.identity)));
  box.append(remove);
  return box;
}

// hostAction runs one host request with its control disabled; it resolves true on success.
async function hostAction(control, done, fn) {
  control.disabled = true;
  try {
    await fn();
    showNotice(done);
    return true;
  } catch (e) {
    showError(e.message);
    return false;
  } finally {
    control.disabled = false;
  }
}

// confirmButton asks for a second click within 5 s before acting.
function confirmButton(button, confirmText, action) {
  const original = button.textContent;
  let armed = null;
  button.addEventListener("click", () => {
    if (!armed) {
      button.textContent = confirmText;
      armed = setTimeout(() => {
        armed = null;
        button.textContent = original;
      }, 5_000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.textContent = original;
    action();
  });
}

// --- real-time text -------------------------------------------------------------

// onRealtimeText shows a real-time text update: finished lines go to the
// log (announced politely by screen readers), the line being typed
// replaces that person's live line. Someone typing opens the panel.
function onRealtimeText(d) {
  hook.rttLog.push({ from: d.from, line: d.line, done: d.done, gap: d.gap, self: !!d.self, at: Date.now() });
  if (hook.rttLog.length > MAX_RTT_LOG) hook.rttLog.splice(0, hook.rttLog.length - MAX_RTT_LOG);
  $("rtt-panel").hidden = false;
  const who = d.self ? "You" : d.name;
  for (const text of d.done) {
    $("rtt-done").append(el("li", {}, el("span", { class: "chat-from", text: `${who}: ` }), el("span", { text })));
  }
  const live = $("rtt-live");
  let li = [...live.children].find((x) => x.dataset.from === d.from);
  if (!d.line) {
    li?.remove();
    return;
  }
  if (!li) {
    li = el("li", {}, el("span", { class: "chat-from", text: `${who}: ` }), el("span", { class: "typing" }));
    li.dataset.from = d.from;
    live.append(li);
  }
  li.querySelector(".typing").textContent = d.line;
}

// sendRealtimeText sends the live-text box's edit. A newline in the box
// (Enter where keydown could not be intercepted — some mobile keyboards,
// synthetic input — or a pasted text) ends the line(s) before it.
function sendRealtimeText({ endLine = false } = {}) {
  const input = $("rtt-input");
  if (!call || call.closed) return;
  const fail = (e) => showError(`Sending live text failed: ${e.message}`);
  const lines = input.value.split(/\r?\n/);
  const draft = lines.pop();
  for (const line of lines) call.sendRealtimeText(line, { endLine: true }).catch(fail);
  input.value = endLine ? "" : draft;
  if (endLine || !lines.length || draft) call.sendRealtimeText(draft, { endLine }).catch(fail);
}

// --- chat and files ----------------------------------------------------------

function timeOf(at) {
  return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function appendLog(li) {
  const log = $("chat-log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(li);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function addChat(m) {
  hook.lastChat.push(m);
  if (hook.lastChat.length > MAX_CHAT_KEPT) hook.lastChat.splice(0, hook.lastChat.length - MAX_CHAT_KEPT);
  appendLog(el("li", { class: m.self ? "self" : "" },
    el("span", { class: "chat-from", text: m.self ? "You" : m.name }),
    el("time", { text: timeOf(m.at), dateTime: new Date(m.at).toISOString() }),
    el("p", { class: "chat-text", text: m.text })));
}

function renderFile(r) {
  const key = `${r.from}\n${r.id}`;
  let li = fileItems.get(key);
  if (!li) {
    li = el("li", { class: "file" });
    fileItems.set(key, li);
    appendLog(li);
  }
  const from = r.direction === "out" ? "You" : call ? call.displayName(r.from) : r.from;
  const children = [el("span", { class: "chat-from", text: from }), el("span", { text: r.direction === "out" && r.status === "sending" ? " are sending a file: " : " sent a file: " })];
  if (r.url && (r.status === "complete" || r.status === "sent")) {
    children.push(el("a", { href: r.url, download: r.name, text: r.name }));
  } else {
    children.push(el("strong", { text: r.name }));
  }
  children.push(` (${formatBytes(r.size)})`);
  let state = "";
  if (r.status === "sending" || r.status === "receiving") {
    children.push(" ", el("progress", { max: Math.max(r.size, 1), value: r.bytes, "aria-label": `Progress of ${r.name}` }));
  } else if (r.status === "complete") {
    state = "checksum verified";
  } else if (r.status === "sent") {
    state = "sent";
  } else {
    state = r.error || r.status;
  }
  if (state) children.push(el("p", { class: `file-state ${r.status}`, text: state }));
  li.className = `file ${r.status}`;
  li.replaceChildren(...children);
}

// --- statistics and rewards ------------------------------------------------

async function updateStats() {
  if (!call || call.closed) return;
  let s = null;
  try {
    s = await call.stats();
  } catch (e) {
    console.warn("chroom: getStats failed", e);
  }
  if (!call || call.closed) return;
  const r = s ? rates(prevSample, s) : {};
  if (s) prevSample = s;
  const via = s && s.localCandidateType === "relay" ? ` (TURN over ${(s.relayProtocol || "udp").toUpperCase()})` : s && s.localProtocol === "tcp" ? " (TCP)" : "";
  const route = s && s.localCandidateType ? `${s.localCandidateType} → ${s.remoteCandidateType}${via}` : "–";
  const rows = [
    ["Media node", call.node.id || "–"],
    ["Region", call.node.region || "–"],
    ["Connection", call.connectionState],
    ["Route", route],
    ["Round trip", s && s.rttMs != null ? `${Math.round(s.rttMs)} ms` : "–"],
    ["Inbound", r.inBps != null ? formatBitrate(r.inBps) : "–"],
    ["Outbound", r.outBps != null ? formatBitrate(r.outBps) : "–"],
    ["Packet loss in", r.lossPct != null ? `${r.lossPct.toFixed(1)} %` : "–"],
    ["Packet loss out", s && s.remoteOutLoss != null ? `${(s.remoteOutLoss * 100).toFixed(1)} %` : "–"],
    ["Frames decoded", s ? String(s.framesDecoded) : "–"],
    ["Received", s ? formatBytes(s.bytesReceived) : "–"],
  ];
  if (call.statsError) rows.push(["Usage report", call.statsError]);
  setList($("stats"), rows);
}

async function updateRewards() {
  if (!call || call.closed || !hook.nodeId) return;
  try {
    const n = await api.node(hook.nodeId);
    // The orchestrator leaves claimable_rewards out when the chain does not answer.
    const reward = n.claimable_rewards;
    let amount = "unavailable right now";
    if (reward && reward.denom === "uchr") amount = `${formatUchr(reward.amount)} (${reward.amount} uchr)`;
    else if (reward) amount = `${reward.amount} ${reward.denom}`;
    const q = Number.parseFloat(n.quality_score);
    setList($("rewards"), [
      ["Node", n.moniker ? `${n.moniker} (${shortId(n.id)})` : shortId(n.id || hook.nodeId)],
      ["Status", String(n.status || "–").replace(/^NODE_STATUS_/, "").toLowerCase()],
      ["Region", n.region || "–"],
      ["Operator", shortId(n.operator)],
      ["Quality score", Number.isFinite(q) ? q.toFixed(3) : "–"],
      ["Claimable rewards", amount],
    ]);
    $("rewards-error").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
    $("rewards-error").classList.remove("bad");
  } catch (e) {
    $("rewards-error").textContent = e.message;
    $("rewards-error").classList.add("bad");
  }
}

// --- controls --------------------------------------------------------------

async function toggleSource(source) {
  if (!call || call.closed) return;
  const st = call.localState(source);
  if (st.active) {
    call.setMuted(source, !st.muted);
    return;
  }
  const what = source === "camera" ? "camera" : "microphone";
  try {
    const stream = await navigator.mediaDevices.getUserMedia(source === "camera" ? { video: VIDEO_CONSTRAINTS } : { audio: true });
    const track = source === "camera" ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
    if (!call || call.closed) {
      track.stop();
      return;
    }
    call.publishTrack(source, track);
  } catch (e) {
    showError(`Turning on the ${what} failed: ${e.name ? mediaErrorText(e) : describeError(e)}`);
  }
}

async function toggleScreen() {
  if (!call || call.closed) return;
  if (call.localState("screen").active) {
    call.stopScreenShare();
    return;
  }
  try {
    await call.startScreenShare();
  } catch (e) {
    showError(e.message);
  }
}

async function copyInvite() {
  const u = new URL(location.pathname, location.origin);
  u.searchParams.set("room", hook.room);
  const link = u.toString();
  try {
    await navigator.clipboard.writeText(link);
    showNotice(`Invite link copied: ${link}`);
  } catch {
    showNotice(`Invite link: ${link}`);
  }
}

function bindUI() {
  const params = new URLSearchParams(location.search);
  let savedName = "";
  try {
    savedName = localStorage.getItem("chroom.name") || "";
  } catch {
    // private mode
  }
  $("room").value = params.get("room") || "";
  $("name").value = params.get("name") || savedName;
  if (JOIN_ROLES.includes(params.get("role"))) $("role").value = params.get("role");
  $("audio-only").checked = /^(1|true|yes)$/i.test(params.get("audio_only") || "");
  $("chat-input").maxLength = MAX_CHAT_CHARS;
  $("file-hint").textContent = `Up to ${formatBytes(MAX_FILE_BYTES)}.`;
  if (!window.isSecureContext) {
    showError("This page is not in a secure context (https or localhost): camera, microphone, screen sharing and file checksums will not work.");
  }

  $("join-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const room = $("room").value.trim();
    const name = $("name").value.trim();
    if (!room) {
      showError("Joining failed: enter a room name.");
      $("room").focus();
      return;
    }
    if (!name) {
      showError("Joining failed: enter your name.");
      $("name").focus();
      return;
    }
    joinRoom({ room, name, role: $("role").value, audioOnly: $("audio-only").checked }).catch(() => {
      // failJoin showed the error
    });
  });
  $("error-dismiss").addEventListener("click", clearError);
  $("mic-button").addEventListener("click", () => toggleSource("microphone"));
  $("camera-button").addEventListener("click", () => toggleSource("camera"));
  $("screen-button").addEventListener("click", toggleScreen);
  $("invite-button").addEventListener("click", copyInvite);
  $("hand-button").addEventListener("click", () => {
    if (!call) return;
    const up = call.raisedHands().includes(call.identity);
    call.raiseHand(!up).then(render, (e) => showError(`Raising your hand failed: ${e.message}`));
  });
  $("leave-button").addEventListener("click", () => leave());
  confirmButton($("end-room-button"), "Confirm: end for everyone", () =>
    hostAction($("end-room-button"), "The room was ended", () => api.endRoom(call.room, call.grant.token)));
  $("refresh-participants").addEventListener("click", () =>
    hostAction($("refresh-participants"), "Participants refreshed", async () => call.mergeParticipants(await api.participants(call.room, call.grant.token))));
  $("unmute-audio").addEventListener("click", () => {
    for (const t of tiles.values()) t.video.play().catch(() => {});
    $("unmute-audio").hidden = true;
  });
  $("chat-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("chat-input");
    if (!call || !input.value.trim()) return;
    try {
      await call.sendChat(input.value);
      input.value = "";
    } catch (e) {
      showError(e.message);
    }
  });
  $("rtt-input").addEventListener("input", () => sendRealtimeText());
  $("rtt-input").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      sendRealtimeText({ endLine: true });
    }
  });
  $("file-input").addEventListener("change", () => {
    const input = $("file-input");
    const files = [...input.files];
    input.value = "";
    for (const f of files) call?.sendFile(f).catch((e) => showError(e.message));
  });
  window.addEventListener("pagehide", () => call?.leaveNow());

  if (/^(1|true|yes)$/i.test(params.get("autojoin") || "") && $("room").value && $("name").value) {
    $("join-form").requestSubmit();
  }
}

// --- test hook ---------------------------------------------------------------

window.chroom = {
  /** "idle" | "joining" | "joined" | "left" | "error" */
  get state() { return hook.state; },
  get identity() { return hook.identity; },
  get room() { return hook.room; },
  get nodeId() { return hook.nodeId; },
  /** grantToken is the join grant (a JWT) of the current call, or null. */
  get grantToken() { return call && call.grant ? call.grant.token || null : null; },
  get role() { return hook.role; },
  /** true when the grant binds this tab's Ed25519 key and usage reports are signed statements */
  get attested() { return hook.attested === true; },
  /** the last usage-report error (e.g. a refused statement), or null */
  get statsError() { return call ? call.statsError : null; },
  /** how many signed usage statements the orchestrator accepted */
  get statementsAccepted() { return call ? call.statementsAccepted || 0 : 0; },
  /** the last error message shown, or null */
  get error() { return hook.error; },
  /** the room's mode: "call" or "audio_space" */
  get roomMode() { return hook.roomMode || "call"; },
  /** identities with a hand up, earliest first */
  raisedHands() { return call ? call.raisedHands() : []; },
  /** raiseHand(up) raises or lowers this participant's hand */
  raiseHand(up = true) { return call ? call.raiseHand(up) : Promise.reject(new Error("not in a call")); },
  /** remoteKinds() lists what the node sends: [{publisher, kind}] */
  remoteKinds() { return call ? call.remoteMedia().map((m) => ({ publisher: m.publisher, kind: m.kind })) : []; },
  /** real-time text updates, oldest first: {from, line, done, gap, self, at} */
  get rttLog() { return hook.rttLog; },
  /** the live-text panel's text: {done: ["Name: line", …], live: ["Name: typing", …]} */
  rttShown() {
    return { done: [...$("rtt-done").children].map((li) => li.textContent), live: [...$("rtt-live").children].map((li) => li.textContent) };
  },
  /** chat messages, oldest first: {from, name, text, at, self} */
  get lastChat() { return hook.lastChat; },
  /** file records (files.js), oldest first */
  get files() { return call ? call.files.list : []; },
  /** participants, you first: {identity, name, role, self, speaking, tracks: [{id, kind, source, muted}]} */
  participants() { return call ? call.participantList() : []; },
  /** video frames decoded so far (getStats inbound-rtp) */
  framesDecoded() { return call ? call.framesDecoded() : Promise.resolve(0); },
  /** audio samples decoded in this session (getStats inbound-rtp totalSamplesReceived; never decreases) */
  audioSamplesReceived() { return call ? call.audioSamplesReceived() : Promise.resolve(0); },
  sendChat(text) { return call && hook.state === "joined" ? call.sendChat(text) : Promise.reject(new Error("not in a call")); },
  sendFile(file) { return call && hook.state === "joined" ? call.sendFile(file) : Promise.reject(new Error("not in a call")); },
  leave() { return leave(); },
  /**
   * timing of the current call, in ms since join started: {joined,
   * firstFrame, firstAudio} (null until it happens) and startedAt (Unix
   * ms); null before a join
   */
  timing() {
    const t = hook.timing;
    return t && { startedAt: t.startedAt, joined: t.joined, firstFrame: t.firstFrame, firstAudio: t.firstAudio };
  },
  /** placement is the last join's media-node measurement {nodes, rtts: {nodeID: ms}, tookMs}, null when there was nothing to choose */
  get placement() { return hook.placement || null; },
  /** route() is the selected ICE route {candidateType, protocol, relayProtocol} (as the stats panel shows it), null before there is one */
  async route() {
    const s = call ? await call.stats().catch(() => null) : null;
    return s && s.localCandidateType ? { candidateType: s.localCandidateType, protocol: s.localProtocol || "", relayProtocol: s.relayProtocol || "" } : null;
  },
  /** the debug log as text, one event per line (debuglog.js) */
  debugLog() { return debugLog.text(); },
  /** join({room, name, role?, audioOnly?}) is what the form does (role: participant or viewer) */
  join(opts) { return joinRoom(opts); },
  /** how many times the call resumed a dropped connection, and restarted ICE */
  get reconnects() { return call ? call.reconnects || 0 : 0; },
  /** rejoins is how often a lost session was joined again through the orchestrator */
  get rejoins() { return hook.rejoins || 0; },
  get iceRestarts() { return call ? call.iceRestarts || 0 : 0; },
  /** debugDropSignal() drops the signaling WebSocket as a network change would (tests) */
  debugDropSignal() { if (call) call.debugDropSignal(); },
  /** pinLayer(layer) asks for one simulcast layer of every remote video (-1 none, 0 low … 2 high; null: by tile size) */
  pinLayer(layer) {
    pinnedLayer = layer === null || layer === undefined ? null : Math.max(-1, Math.min(2, layer | 0));
    tiles.forEach((t) => adaptTile(t));
  },
  /** inboundVideo() is [{trackId, frameWidth, frameHeight, framesPerSecond, framesDecoded, packetsLost, nackCount, freezeCount}] of the remote video (getStats inbound-rtp) */
  async inboundVideo() {
    if (!call || !call.pc) return [];
    const out = [];
    (await call.pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") {
        out.push({ trackId: r.trackIdentifier, frameWidth: r.frameWidth || 0, frameHeight: r.frameHeight || 0, framesPerSecond: r.framesPerSecond || 0,
          framesDecoded: r.framesDecoded || 0, packetsLost: r.packetsLost || 0, nackCount: r.nackCount || 0, freezeCount: r.freezeCount || 0 });
      }
    });
    return out;
  },
  /** outboundVideo() is [{rid, active, frameWidth, framesPerSecond, bytesSent, limitation}] of the camera's simulcast encodings (getStats outbound-rtp; limitation is qualityLimitationReason: none, bandwidth, cpu, other) */
  async outboundVideo() {
    if (!call || !call.pc) return [];
    const out = [];
    (await call.pc.getStats()).forEach((r) => {
      if (r.type === "outbound-rtp" && r.kind === "video") {
        out.push({ rid: r.rid || "", active: r.active !== false, frameWidth: r.frameWidth || 0, framesPerSecond: r.framesPerSecond || 0, bytesSent: r.bytesSent || 0, limitation: r.qualityLimitationReason || "" });
      }
    });
    return out;
  },
  /** inboundAudio() is {concealedSamples, totalSamplesReceived} summed over the remote audio (getStats inbound-rtp) */
  async inboundAudio() {
    const out = { concealedSamples: 0, totalSamplesReceived: 0 };
    if (!call || !call.pc) return out;
    (await call.pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") {
        out.concealedSamples += r.concealedSamples || 0;
        out.totalSamplesReceived += r.totalSamplesReceived || 0;
      }
    });
    return out;
  },
  /** audioLevels() is {sent, received: [{trackId, level}]}: the microphone's level and each remote audio's (getStats media-source and inbound-rtp audioLevel, 0 … 1) */
  async audioLevels() {
    const out = { sent: 0, received: [] };
    if (!call || !call.pc) return out;
    (await call.pc.getStats()).forEach((r) => {
      if (r.type === "media-source" && r.kind === "audio") out.sent = r.audioLevel || 0;
      if (r.type === "inbound-rtp" && r.kind === "audio") out.received.push({ trackId: r.trackIdentifier, level: r.audioLevel || 0 });
    });
    return out;
  },
  /** localPort() is the local UDP port of the call's selected ICE candidate pair (tests shape traffic by it), 0 before there is one */
  async localPort() {
    if (!call || !call.pc) return 0;
    const st = await call.pc.getStats();
    let port = 0;
    st.forEach((r) => {
      if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") {
        const l = st.get(r.localCandidateId);
        if (l && l.port) port = l.port;
      }
    });
    return port;
  },
  /** setReceiveVideo(on) turns receiving the others' video on or off (off: an audio-only listener) */
  setReceiveVideo(on) { if (call) call.setReceiveVideo(on); },
  /** inboundBytes() is the bytes received over the call's connection so far (transport stats) */
  async inboundBytes() {
    if (!call || !call.pc) return 0;
    let n = 0;
    (await call.pc.getStats()).forEach((r) => { if (r.type === "transport") n += r.bytesReceived || 0; });
    return n;
  },
};

document.addEventListener("visibilitychange", () => debugLog.add("visibility", { state: document.visibilityState }));
setState("idle");
bindUI();
