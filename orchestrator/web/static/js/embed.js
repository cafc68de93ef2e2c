// The embeddable call (/embed?token=<grant>): one room, joined with the
// grant the embedding app's backend obtained, on the SDK. The orchestrator
// fills the "chroom-grant" data block with the join answer and lets only
// the app's allowed origins frame this page (CSP frame-ancestors).
// window.chroomEmbed is a small hook for end-to-end tests.

import { connect, describeError, permissionsOf } from "/sdk/index.js";

const $ = (id) => document.getElementById(id);
const hook = { state: "idle", error: null, identity: null, room: null };
let room = null;

function status(text) {
  $("embed-status").textContent = text;
}

function renderControls() {
  for (const [id, source] of [["embed-mic", "microphone"], ["embed-camera", "camera"]]) {
    const b = $(id);
    const s = room ? room.localState(source) : { active: false, muted: true };
    const on = s.active && !s.muted;
    b.disabled = !room || !room.perms.publish || !s.active;
    b.setAttribute("aria-pressed", String(on));
    b.querySelector(".state").textContent = on ? "on" : "off";
  }
  $("embed-leave").disabled = !room;
}

function renderTiles() {
  const tiles = $("embed-tiles");
  const media = room ? room.remoteMedia() : [];
  const byPublisher = new Map();
  for (const m of media) {
    if (!byPublisher.has(m.publisher)) byPublisher.set(m.publisher, []);
    byPublisher.get(m.publisher).push(m.track);
  }
  for (const el of [...tiles.children]) if (!byPublisher.has(el.dataset.publisher)) el.remove();
  for (const [publisher, tracks] of byPublisher) {
    let fig = [...tiles.children].find((x) => x.dataset.publisher === publisher);
    if (!fig) {
      fig = document.createElement("figure");
      fig.className = "tile";
      fig.dataset.publisher = publisher;
      const v = document.createElement("video");
      v.autoplay = true;
      v.playsInline = true;
      const cap = document.createElement("figcaption");
      fig.append(v, cap);
      tiles.append(fig);
    }
    fig.querySelector("figcaption").textContent = room.displayName(publisher);
    const v = fig.querySelector("video");
    const ids = tracks.map((t) => t.id).join(",");
    if (v.dataset.tracks !== ids) {
      v.dataset.tracks = ids;
      v.srcObject = new MediaStream(tracks);
      v.play().catch(() => {});
    }
  }
}

async function start() {
  let grant = null;
  try {
    grant = JSON.parse($("chroom-grant").textContent);
  } catch {
    grant = null;
  }
  if (!grant || !grant.token) {
    hook.state = "error";
    hook.error = "no grant";
    status("This page needs a call link from the app that embeds it.");
    return;
  }
  hook.room = grant.room;
  document.title = `Call: ${grant.room}`;
  const params = new URLSearchParams(location.search);
  const name = (params.get("name") || "").slice(0, 128) || grant.identity.split(":").pop();
  let media = null;
  if (permissionsOf(grant.role).publish) {
    const audioOnly = grant.room_options?.mode === "audio_space";
    try {
      media = await navigator.mediaDevices.getUserMedia(audioOnly ? { audio: true } : { audio: true, video: { width: { ideal: 960 }, height: { ideal: 540 } } });
    } catch (e) {
      status(`Joining without camera and microphone (${describeError(e)}).`);
    }
  }
  hook.state = "joining";
  try {
    room = await connect({ grant, orchestrator: location.origin, name, media, audioOnly: grant.room_options?.mode === "audio_space" });
  } catch (e) {
    hook.state = "error";
    hook.error = describeError(e);
    status(`Joining failed: ${hook.error}`);
    return;
  }
  hook.state = "joined";
  hook.identity = room.identity;
  status(`In ${grant.room}.`);
  room.addEventListener("update", () => { renderTiles(); renderControls(); });
  room.addEventListener("local", renderControls);
  room.addEventListener("notice", (e) => status(e.detail.message));
  room.addEventListener("ended", (e) => {
    hook.state = "left";
    status(e.detail.reason || "The call ended.");
    room = null;
    renderTiles();
    renderControls();
  });
  renderTiles();
  renderControls();
}

for (const [id, source] of [["embed-mic", "microphone"], ["embed-camera", "camera"]]) {
  $(id).addEventListener("click", () => {
    if (!room) return;
    const s = room.localState(source);
    room.setMuted(source, !s.muted);
    renderControls();
  });
}
$("embed-leave").addEventListener("click", () => room?.leave());
window.addEventListener("pagehide", () => room?.leaveNow());

window.chroomEmbed = {
  get state() { return hook.state; },
  get error() { return hook.error; },
  get identity() { return hook.identity; },
  get room() { return hook.room; },
  framesDecoded() { return room ? room.framesDecoded() : Promise.resolve(0); },
};

start();
