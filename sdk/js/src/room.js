// Room is one session in a room on a media node: the signaling WebSocket,
// one RTCPeerConnection, the "chroom" data channel and the local tracks
// (medianode/signal/ws.go has the message shapes, medianode/sfu the room
// events). It keeps the room state (participants, tracks, speakers) from
// the node's events and reports changes as DOM events:
//   "update"     participants, tracks, speakers or remote media changed
//   "local"      a local track started, stopped or was muted
//   "chat"       detail {from, name, text, at, self}
//   "rtt"        detail {from, name, line, done, gap}: real-time text
//                (rtt.js) — line is what from is typing now, done the
//                lines it finished with this message
//   "hand"       detail {identity, up}: a hand went up or down
//   "data"       detail {from, payload}: an app's own data message
//   "file"       detail: a file record (files.js)
//   "notice"     detail {message, error}: something the user should know
//   "connection" detail {state}: the PeerConnection's connection state
//   "ended"      detail {reason, error}: the call is over
//
// Negotiation follows W3C "perfect negotiation" (webrtc-pc §10.7): the
// client offers its own tracks; the node offers when the client's
// subscriptions change. When both offer at once (glare) the client is the
// polite peer: a node offer that arrives while the client's own offer is
// pending rolls the client's offer back; the client answers the node and
// offers again. The node, impolite, keeps its offer and refuses the
// crossing one with an "offer: glare: …" error, which the client ignores
// (it has already rolled that offer back). The node sends its answer to a
// client offer before any offer of its own that follows. Every step is
// recorded in the debug log (debuglog.js).

import { debugLog, describeEncodings, describeSections } from "./debuglog.js";
import { FileTransfers } from "./files.js";
import { parseSections } from "./sdp.js";
import { collectStats, Totals } from "./stats.js";
import { grantId, signStatement } from "./attest.js";
import { describeError } from "./util.js";
import { applyEvent, applyHand, newRoomState, participantList, raisedHands } from "./roomstate.js";
import { candidateInit, decodeEnvelope, decodeNodeMessage, iceUfrag, MAX_OFFER_RETRIES, Negotiation } from "./signaling.js";
import { isRttMessage, RttReceiver, RttSender } from "./rtt.js";

/**
 * grantClaims reads a grant's claims (the JWT payload, RFC 7519 §3)
 * without verifying it — the media node does that; null if unreadable.
 */
export function grantClaims(token) {
  try {
    const b64 = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

/** StepError is a failure of one named step of joining or calling. */
export class StepError extends Error {
  constructor(step, message) {
    super(`${step} failed: ${message}`);
    this.name = "StepError";
    this.step = step;
  }
}

// What each role may do (grant.DefaultPermissions).
const PERMISSIONS = {
  viewer: { publish: false, screen: false, data: false, admin: false },
  participant: { publish: true, screen: false, data: true, admin: false },
  presenter: { publish: true, screen: true, data: true, admin: false },
  host: { publish: true, screen: true, data: true, admin: true },
};

/** permissionsOf returns {publish, screen, data, admin} for a role. */
export function permissionsOf(role) {
  return PERMISSIONS[role] ?? PERMISSIONS.viewer;
}

const JOIN_TIMEOUT_MS = 15_000;
// How camera and screen video are sent (RTCRtpEncodingParameters). The
// camera is simulcast in three layers the media node picks from per
// subscriber (rid q/h/f = its layers 0/1/2, LayerFromRID): quarter, half
// and full resolution (240, 480, 960 px wide from the 960×540 capture).
// A screen share is one high-resolution, low-frame-rate layer: text stays
// sharp, motion is rare.
const SEND_ENCODINGS = {
  camera: [
    { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
    { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
    { rid: "f", maxBitrate: 1_500_000 },
  ],
  screen: [{ maxBitrate: 2_500_000, maxFramerate: 8 }],
};
// A lost signaling connection is resumed (same session, same grant) for up
// to RESUME_GIVE_UP_MS, the node keeping the session meanwhile (its
// limits.resume_grace, 20 s); attempts back off from RESUME_FIRST_MS.
const RESUME_GIVE_UP_MS = 18_000;
const RESUME_FIRST_MS = 250;
const RESUME_ATTEMPT_MS = 4_000;
// A resume attempt refused within NODE_REFUSED_MS (the node's port
// answers with a reset: its process is gone) counts towards
// NODE_REFUSED_TRIES; after that many in a row, if the orchestrator still
// answers (so this client's own network works), the call ends at once and
// joins again naming the node unreachable, instead of waiting out
// RESUME_GIVE_UP_MS: the orchestrator probes it and moves the room.
const NODE_REFUSED_MS = 1_500;
const NODE_REFUSED_TRIES = 3;
// A media connection "disconnected" this long gets an ICE restart.
const ICE_RESTART_AFTER_MS = 2_000;
const CONNECT_WARN_MS = 20_000;
const DATA_OPEN_TIMEOUT_MS = 15_000;
const STATS_REPORT_MS = 5_000;
// USAGE_FIGURES are the session totals a usage report carries (api.js
// reportStats; signed by attest.js signStatement).
const USAGE_FIGURES = ["bytesReceived", "framesDecoded", "packetsReceived", "packetsLost", "bytesSent", "audioSamples"];
// Re-offer delays after the node rejected an offer: 150 ms doubling to 3 s,
// at most MAX_OFFER_RETRIES times in a row.
// How often the debug log samples receive and send figures.
const DEBUG_STATS_MS = 2_000;
const DATA_HIGH_WATER_BYTES = 1 << 20;
const DATA_LOW_WATER_BYTES = 256 << 10;
// The node refuses data messages over 64 KiB by default.
const MAX_DATA_MESSAGE_BYTES = 60 * 1024;
/** MAX_CHAT_CHARS bounds one chat message. */
export const MAX_CHAT_CHARS = 2000;
const SOURCES = ["microphone", "camera", "screen"];

export class Room extends EventTarget {
  /**
   * @param {object} opts
   * @param {object} opts.grant the orchestrator's join answer
   * @param {string} opts.name the display name
   * @param {MediaStream|null} opts.media camera and microphone to publish
   * @param {import("./api.js").Orchestrator} opts.api for statistics reports
   */
  constructor({ grant, name, media, api, audioOnly = false }) {
    super();
    /** an audio-only participant neither sends nor receives video (the node sends it none) */
    this.audioOnly = audioOnly;
    this.grant = grant;
    this.api = api;
    this.room = grant.room;
    this.identity = grant.identity;
    this.name = name;
    /** the room as this participant sees it (roomstate.js) */
    this.state = newRoomState(grant.identity, name, grant.role || "participant");
    this.node = grant.media_node;
    this.rttOut = new RttSender();
    this.rttIn = new RttReceiver();
    /** local[source] = {track, sender, pubId, muted, unpublished} */
    this.local = { camera: null, microphone: null, screen: null };
    this.localStream = new MediaStream();
    this.initialMedia = media;
    this.ws = null;
    this.pc = null;
    this.dc = null;
    this.closed = false;
    this.endReason = null;
    this.connectionState = "new";
    this.chain = Promise.resolve();
    this.pendingCandidates = [];
    this.negotiation = new Negotiation(); // glare and the back-off after refused offers
    this.offerTimer = null;
    this.debugStatsBusy = false;
    this.localCandidates = []; // every candidate sent, to re-send after a rollback
    this.timers = [];
    this.lastTotals = Object.fromEntries(USAGE_FIGURES.map((k) => [k, 0])); // reported usage totals, never decreasing
    this.totals = new Totals();
    this.statsError = null;
    this.files = new FileTransfers({ send: (m) => this.sendData(m), self: this.identity });
    this.files.addEventListener("file", (e) => this.#emit("file", e.detail));
  }

  /**
   * perms is what this participant may do now: its role's permissions
   * (permissionsOf), and in an audio space (room_options.mode
   * "audio_space", as the orchestrator grants them) listeners may send
   * data — raise a hand, chat — and nobody shares a screen.
   */
  get perms() {
    const p = { ...permissionsOf(this.role) };
    if (this.grant?.room_options?.mode === "audio_space") {
      p.data = true;
      p.screen = false;
    }
    if (this.hidden) {
      // A hidden session (the grant's "hidden"): it watches, unseen.
      p.publish = p.screen = p.data = false;
    }
    return p;
  }

  /**
   * hidden: the grant hides this session from the others (it may not
   * publish). Read from the grant each time; an app that shows the
   * session later (PATCH … permission) gives its client a new grant.
   */
  get hidden() {
    return grantClaims(this.grant?.token)?.hidden === true;
  }

  /** role is this participant's role ("host", "presenter", "participant", "viewer", "speaker", "listener"). */
  get role() {
    return this.state.role;
  }

  set role(r) {
    this.state.role = r;
  }

  /** participants by identity (roomstate.js ParticipantInfo). */
  get participants() {
    return this.state.participants;
  }

  /** published tracks by ID (roomstate.js TrackInfo). */
  get tracks() {
    return this.state.tracks;
  }

  /** identities speaking now. */
  get speakers() {
    return this.state.speakers;
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #notice(message, error = true) {
    this.#emit("notice", { message, error });
  }

  /** setReceiveVideo asks the node to send (true) or stop sending (false) the others' video. */
  setReceiveVideo(on) {
    this.audioOnly = !on;
    this.#send({ type: "subscription", video: !!on });
  }

  #send(msg) {
    if (msg.type === "candidate") debugLog.add("candidate sent", { candidate: msg.candidate.candidate });
    else if (msg.type !== "client_stats" && msg.type !== "offer" && msg.type !== "answer") debugLog.add(`${msg.type} sent`, { track: msg.track_id, source: msg.source, muted: msg.muted });
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  /**
   * open connects to the media node and resolves once the node has
   * answered "joined" and the PeerConnection is set up.
   */
  open() {
    const step = "Connecting to the media node";
    let url;
    try {
      url = new URL(this.node.ws_url, location.href);
      if (url.protocol === "http:") url.protocol = "ws:";
      if (url.protocol === "https:") url.protocol = "wss:";
      url.searchParams.set("access_token", this.grant.token);
      if (this.audioOnly) url.searchParams.set("audio_only", "1");
    } catch (e) {
      return Promise.reject(new StepError(step, `the media node's URL ${JSON.stringify(this.node.ws_url)} is not valid`));
    }
    debugLog.add("connecting", { node: this.node.id || this.node.ws_url, room: this.room, identity: this.identity });
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        reject(new StepError(step, `cannot open ${url.origin}: ${e.message}`));
        return;
      }
      this.ws = ws;
      let settled = false; // open() resolved or rejected
      let lastError = "";
      const early = []; // messages that came before "joined"
      const fail = (why) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.onclose = ws.onmessage = null;
        try {
          ws.close();
        } catch {
          // already closed
        }
        this.#end({ reason: why, error: true, quiet: true });
        reject(new StepError(step, why));
      };
      const timer = setTimeout(() => fail(`the media node at ${url.host} did not answer within ${JOIN_TIMEOUT_MS / 1000} s`), JOIN_TIMEOUT_MS);
      ws.onmessage = (ev) => {
        let msg;
        try {
          msg = decodeNodeMessage(ev.data);
        } catch (e) {
          console.warn(`chroom: ignoring a malformed message from the media node (${e.message})`, ev.data);
          return;
        }
        if (settled) {
          this.#onMessage(msg);
        } else if (msg.type === "joined") {
          debugLog.add("joined", { participants: (msg.participants || []).length, tracks: (msg.tracks || []).map((t) => t.id).join(" "), early: early.length });
          try {
            this.#setup(msg);
          } catch (e) {
            fail(`setting up WebRTC: ${describeError(e)}`);
            return;
          }
          settled = true;
          clearTimeout(timer);
          // The node may offer its subscriptions before "joined".
          for (const m of early) this.#onMessage(m);
          resolve();
        } else if (msg.type === "error") {
          lastError = msg.message || "unknown error";
        } else {
          early.push(msg);
        }
      };
      ws.onclose = (ev) => {
        if (!settled) {
          const detail = lastError || ev.reason;
          fail(detail
            ? `the media node closed the connection: ${detail}`
            : `the media node at ${url.host} refused or dropped the connection (code ${ev.code}); the join grant may be invalid or expired, or the node unreachable`);
          return;
        }
        this.#onSocketClosed(ev);
      };
    });
  }

  #setup(joined) {
    const me = joined.participant || { identity: this.identity, name: this.name, role: this.role };
    this.identity = me.identity || this.identity;
    this.state.identity = this.identity;
    this.role = me.role || this.role;
    this.files.self = this.identity;
    this.#apply({ type: "participant_joined", participant: me });
    for (const p of joined.participants || []) this.#apply({ type: "participant_joined", participant: p });
    for (const t of joined.tracks || []) this.#apply({ type: "track_published", track: t });

    const iceServers = (joined.ice_servers || [])
      .filter((s) => s && s.urls)
      .map((s) => {
        const out = { urls: s.urls };
        if (s.username) out.username = s.username;
        if (typeof s.credential === "string") out.credential = s.credential;
        return out;
      });
    try {
      this.pc = new RTCPeerConnection({ iceServers });
    } catch (e) {
      this.#notice(`The media node's ICE servers are not usable (${e.message}); connecting without TURN.`);
      this.pc = new RTCPeerConnection();
    }
    const pc = this.pc;
    pc.onicecandidate = (ev) => {
      // Skip end-of-candidates: the node wants a candidate line.
      if (!ev.candidate || !ev.candidate.candidate) return;
      const c = ev.candidate.toJSON();
      this.localCandidates.push(c);
      this.#send({ type: "candidate", candidate: c });
    };
    pc.onnegotiationneeded = () => {
      debugLog.add("negotiation needed", { signaling: pc.signalingState });
      this.#scheduleOffer();
    };
    pc.ontrack = (ev) => {
      const mid = ev.transceiver?.mid;
      debugLog.add("remote track", { kind: ev.track.kind, mid, muted: ev.track.muted });
      ev.track.addEventListener("unmute", () => {
        debugLog.add("remote track unmuted", { kind: ev.track.kind, mid });
        this.#emit("update");
      });
      ev.track.addEventListener("mute", () => debugLog.add("remote track muted", { kind: ev.track.kind, mid }));
      ev.track.addEventListener("ended", () => {
        debugLog.add("remote track ended", { kind: ev.track.kind, mid });
        this.#emit("update");
      });
      this.#emit("update");
    };
    pc.onsignalingstatechange = () => {
      debugLog.add("signaling state", { state: pc.signalingState });
      if (pc.signalingState === "stable") {
        this.#watchDtls();
        this.#emit("update");
      }
    };
    pc.oniceconnectionstatechange = () => debugLog.add("ice state", { state: pc.iceConnectionState });
    pc.onicegatheringstatechange = () => debugLog.add("ice gathering", { state: pc.iceGatheringState });
    pc.onconnectionstatechange = () => {
      debugLog.add("connection state", { state: pc.connectionState });
      this.#onConnectionState(pc.connectionState);
    };
    this.timers.push(setTimeout(() => {
      if (!this.closed && this.connectionState !== "connected") {
        this.#notice("The media connection is taking long to establish. A firewall may be blocking UDP; the node's TURN relay is tried too.");
      }
    }, CONNECT_WARN_MS));

    // The data channel exists before the first offer, so that offer
    // negotiates SCTP even when there is nothing to publish.
    this.dc = pc.createDataChannel("chroom");
    this.dc.bufferedAmountLowThreshold = DATA_LOW_WATER_BYTES;
    this.dc.onmessage = (ev) => this.#onData(ev.data);
    this.dc.onopen = () => this.#emit("update");
    this.dc.onclose = () => this.#emit("update");

    if (this.initialMedia && this.perms.publish) {
      for (const track of this.initialMedia.getAudioTracks()) this.#publish("microphone", track);
      for (const track of this.initialMedia.getVideoTracks()) this.#publish("camera", track);
    }
    this.timers.push(setInterval(() => this.#reportStats().catch(() => {}), STATS_REPORT_MS));
    this.timers.push(setInterval(() => this.#debugStats(), DEBUG_STATS_MS));
    this.#emit("update");
    this.#emit("local");
  }

  // --- negotiation -------------------------------------------------------

  // watchDtls records the DTLS transport's state changes once it exists.
  #watchDtls() {
    const dtls = this.pc?.sctp?.transport || this.pc?.getTransceivers().find((t) => t.receiver.transport)?.receiver.transport;
    if (!dtls || this.dtlsWatched === dtls) return;
    this.dtlsWatched = dtls;
    debugLog.add("dtls state", { state: dtls.state });
    dtls.addEventListener("statechange", () => debugLog.add("dtls state", { state: dtls.state }));
  }

  // debugStats samples receive and send figures into the debug log.
  async #debugStats() {
    if (this.debugStatsBusy || !this.pc || this.pc.signalingState === "closed") return;
    this.debugStatsBusy = true;
    try {
      const report = await this.pc.getStats();
      const inbound = [];
      const outbound = [];
      report.forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "video") {
          inbound.push(`video mid=${r.mid} pkts=${r.packetsReceived} lost=${r.packetsLost} frames=${r.framesReceived ?? 0}/${r.framesDecoded ?? 0} key=${r.keyFramesDecoded ?? 0} pli=${r.pliCount ?? 0} nack=${r.nackCount ?? 0}`);
        } else if (r.type === "inbound-rtp" && r.kind === "audio") {
          inbound.push(`audio mid=${r.mid} pkts=${r.packetsReceived} samples=${r.totalSamplesReceived ?? 0}`);
        } else if (r.type === "outbound-rtp" && r.kind === "video") {
          outbound.push(`video mid=${r.mid} rid=${r.rid ?? ""} active=${r.active ?? ""} frames=${r.framesEncoded ?? 0} key=${r.keyFramesEncoded ?? 0} pli=${r.pliCount ?? 0} limit=${r.qualityLimitationReason ?? ""}`);
        } else if (r.type === "outbound-rtp" && r.kind === "audio") {
          outbound.push(`audio mid=${r.mid} pkts=${r.packetsSent}`);
        }
      });
      debugLog.add("stats", { visibility: document.visibilityState, in: inbound.join("; "), out: outbound.join("; "), encodings: describeEncodings(this.pc) });
      this.#recheckPublishedLayers();
    } catch {
      // closing
    } finally {
      this.debugStatsBusy = false;
    }
  }

  // enqueue runs signaling steps one at a time, in arrival order.
  #enqueue(fn) {
    this.chain = this.chain.then(() => (this.closed ? undefined : fn())).catch((e) => {
      debugLog.add("negotiation error", { error: describeError(e), signaling: this.pc?.signalingState });
      if (!this.closed) this.#notice(`WebRTC negotiation failed: ${describeError(e)}`);
    });
    return this.chain;
  }

  // scheduleOffer queues an offer, after the back-off if the node rejected
  // the last one.
  #scheduleOffer(minWait = 0) {
    if (this.closed) return;
    clearTimeout(this.offerTimer);
    const wait = Math.max(minWait, this.negotiation.retryDelay(Date.now()));
    this.offerTimer = setTimeout(() => this.#enqueue(() => this.#makeOffer()), wait);
  }

  async #makeOffer() {
    // In any other state the browser fires negotiationneeded again once
    // the current exchange ends.
    if (!this.negotiation.canOffer(this.pc.signalingState)) return;
    await this.pc.setLocalDescription();
    if (this.pc.localDescription.type !== "offer") return;
    this.#syncAnnouncements();
    this.#send({ type: "offer", sdp: this.pc.localDescription.sdp });
    debugLog.add("offer sent", { sections: describeSections(this.pc.localDescription.sdp), encodings: describeEncodings(this.pc) });
  }

  // syncAnnouncements checks, before our description goes out, that each
  // local track is announced under the ID the node will see: the a=msid
  // track ID of its m-section, which is not the track's own ID when the
  // browser reuses a transceiver.
  #syncAnnouncements() {
    const sections = parseSections(this.pc.localDescription?.sdp);
    const transceivers = this.pc.getTransceivers();
    for (const source of SOURCES) {
      const slot = this.local[source];
      if (!slot || !slot.sender) continue;
      const mid = transceivers.find((t) => t.sender === slot.sender)?.mid;
      const id = mid != null ? sections.find((s) => s.mid === mid)?.trackId : null;
      if (id && id !== slot.pubId) {
        this.#send({ type: "announce_track", track_id: id, source });
        slot.pubId = id;
        slot.lastLayers = null; // a new publication: the node starts with every layer on
      }
    }
  }

  // recoverRejectedOffer handles the node refusing our offer for another
  // reason than glare: roll back and offer again after a growing delay.
  async #recoverRejectedOffer(message) {
    if (this.pc.signalingState !== "have-local-offer") return;
    const { giveUp } = this.negotiation.onRefused(Date.now());
    await this.pc.setLocalDescription({ type: "rollback" });
    debugLog.add("own offer rolled back (refused)", { message, failures: this.negotiation.failures });
    if (giveUp) {
      this.#notice(`Publishing your media failed: the media node rejected ${MAX_OFFER_RETRIES + 1} offers in a row (${message}).`);
      return;
    }
    this.#scheduleOffer();
  }

  // resendCandidates sends again the candidates of the current local ICE
  // credentials: the node dropped those that came with a rejected offer.
  #resendCandidates() {
    const ufrag = iceUfrag(this.pc.localDescription?.sdp);
    for (const c of this.localCandidates) {
      if (!ufrag || !c.usernameFragment || c.usernameFragment === ufrag) this.#send({ type: "candidate", candidate: c });
    }
  }

  async #onOffer(sdp) {
    const glare = this.negotiation.onNodeOffer(this.pc.signalingState).rollback;
    debugLog.add("node offer received", { signaling: this.pc.signalingState, sections: describeSections(sdp) });
    if (glare) {
      // We are the polite peer: drop our pending offer (the node refuses
      // it with "offer: glare"), answer the node's, then offer again.
      await this.pc.setLocalDescription({ type: "rollback" });
      debugLog.add("glare: own offer rolled back");
    }
    if (this.pc.remoteDescription && iceUfrag(sdp) !== iceUfrag(this.pc.remoteDescription.sdp) && this.iceRestartTimer) {
      // The node restarts ICE itself: give its restart the time ours
      // would have had before starting another one on top of it.
      clearTimeout(this.iceRestartTimer);
      this.iceRestartTimer = setTimeout(() => this.#restartIce("the node's ICE restart did not bring the path back"), ICE_RESTART_AFTER_MS);
    }
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    debugLog.add("node offer applied", { encodings: describeEncodings(this.pc) });
    await this.#flushCandidates();
    await this.pc.setLocalDescription();
    this.#syncAnnouncements();
    this.#send({ type: "answer", sdp: this.pc.localDescription.sdp });
    debugLog.add("answer sent", { sections: describeSections(this.pc.localDescription.sdp), encodings: describeEncodings(this.pc) });
    this.#recheckPublishedLayers();
    if (glare) {
      // Candidates sent with the rolled-back offer were refused with it.
      this.#resendCandidates();
      this.#scheduleOffer();
    }
    this.#emit("update");
  }

  async #onAnswer(sdp) {
    if (!this.negotiation.onNodeAnswer(this.pc.signalingState)) {
      debugLog.add("node answer ignored", { signaling: this.pc.signalingState });
      return;
    }
    await this.pc.setRemoteDescription({ type: "answer", sdp });
    debugLog.add("node answer applied", { sections: describeSections(sdp), encodings: describeEncodings(this.pc) });
    this.#recheckPublishedLayers();
    await this.#flushCandidates();
    this.#emit("update");
  }

  async #onCandidate(c) {
    const init = candidateInit(c);
    if (!init) return;
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(init);
      return;
    }
    try {
      await this.pc.addIceCandidate(init);
      debugLog.add("candidate received", { candidate: init.candidate });
    } catch (e) {
      debugLog.add("candidate refused", { candidate: init.candidate, error: describeError(e) });
      console.warn("chroom: a remote ICE candidate was not accepted", e);
    }
  }

  async #flushCandidates() {
    const list = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of list) {
      try {
        await this.pc.addIceCandidate(c);
      } catch (e) {
        console.warn("chroom: a remote ICE candidate was not accepted", e);
      }
    }
  }

  #onConnectionState(state) {
    this.connectionState = state;
    this.#emit("connection", { state });
    clearTimeout(this.iceRestartTimer);
    this.iceRestartTimer = null;
    if (state === "disconnected" && !this.closed) {
      // The path may be gone (a network change): restart ICE if it does
      // not come back by itself soon.
      this.iceRestartTimer = setTimeout(() => this.#restartIce("the media connection stayed disconnected"), ICE_RESTART_AFTER_MS);
    }
    if (state === "failed" && !this.closed && !this.iceRestarted) {
      this.#restartIce("the media connection failed");
      return;
    }
    if (state === "failed" && !this.closed) {
      this.#end({
        reason: "The media connection failed (ICE could not connect to the media node). A firewall may block UDP and TCP to the node, or its TURN relay is unreachable.",
        error: true,
      });
    }
  }

  // --- reconnection ----------------------------------------------------------

  /** reconnecting is true while a lost connection is being resumed. */
  get reconnecting() { return !!this.resuming; }

  // restartIce asks for an ICE restart (new candidates, a new path): the
  // browser marks the next offer iceRestart and negotiationneeded sends it.
  #restartIce(why) {
    if (this.closed || !this.pc || this.pc.connectionState === "connected") return;
    // ICE may be back a moment before connectionState says so (the node's
    // own restart just succeeded): a second restart on top of it only
    // sets the path up again.
    if (this.pc.iceConnectionState === "connected" || this.pc.iceConnectionState === "completed") return;
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return; // the resume restarts ICE
    this.iceRestarted = true;
    this.iceRestarts = (this.iceRestarts || 0) + 1;
    debugLog.add("ice restart", { why });
    this.pc.restartIce();
    this.timers.push(setTimeout(() => { this.iceRestarted = false; }, 10_000));
  }

  // reconnect resumes the session after its WebSocket dropped: it opens a
  // new one with ?resume=1 (the node kept the session, tracks and
  // subscriptions), then restarts ICE on the same PeerConnection. Nobody
  // else in the room sees a leave and a join. It gives up, ending the call,
  // after RESUME_GIVE_UP_MS or when the node no longer has the session.
  async #reconnect(why) {
    if (this.closed || this.resuming) return;
    this.resuming = true;
    this.reconnects = (this.reconnects || 0) + 1;
    debugLog.add("reconnecting", { why });
    this.#emit("reconnecting", { why });
    const deadline = Date.now() + RESUME_GIVE_UP_MS;
    let wait = RESUME_FIRST_MS;
    let refused = 0;
    while (!this.closed && Date.now() < deadline) {
      let resumed;
      const started = Date.now();
      try {
        resumed = await this.#resumeSocket();
      } catch (e) {
        debugLog.add("resume attempt failed", { error: describeError(e) });
        refused = e.refused && Date.now() - started < NODE_REFUSED_MS ? refused + 1 : 0;
        if (refused >= NODE_REFUSED_TRIES && (await this.#orchestratorAnswers())) {
          this.resuming = false;
          this.#end({ reason: `The media node stopped answering (${why}).`, error: true, rejoin: true, unreachableNode: this.node.id });
          return;
        }
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 2_000);
        continue;
      }
      this.resuming = false;
      if (!resumed) {
        this.#end({ reason: `Lost the connection to the media node (${why}), and it no longer had this session.`, error: true, rejoin: true });
        return;
      }
      debugLog.add("resumed", { after: why });
      this.iceRestarted = false;
      if (this.pc.connectionState !== "connected") this.#restartIce("resumed after " + why);
      else this.pc.restartIce(); // a new network may need a new path even if the old one still answers
      this.#emit("reconnected", {});
      this.#emit("update");
      return;
    }
    this.resuming = false;
    this.#end({ reason: `Lost the connection to the media node: ${why}; reconnecting failed for ${RESUME_GIVE_UP_MS / 1000} s.`, error: true, rejoin: true });
  }

  // resumeSocket opens a WebSocket with ?resume=1 and resolves with
  // joined.resumed once "joined" arrives; it rejects if the socket closes
  // or nothing arrives within RESUME_ATTEMPT_MS.
  #resumeSocket() {
    const url = new URL(this.node.ws_url, location.href);
    if (url.protocol === "http:") url.protocol = "ws:";
    if (url.protocol === "https:") url.protocol = "wss:";
    url.searchParams.set("access_token", this.grant.token);
    url.searchParams.set("resume", "1");
    if (this.audioOnly) url.searchParams.set("audio_only", "1");
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.onclose = ws.onmessage = null;
        try { ws.close(); } catch { /* closing */ }
        reject(new Error(`no answer within ${RESUME_ATTEMPT_MS / 1000} s`));
      }, RESUME_ATTEMPT_MS);
      ws.onclose = (ev) => {
        clearTimeout(timer);
        const err = new Error(`the node closed the connection (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ""})`);
        err.refused = ev.code === 1006; // closed abnormally: no WebSocket handshake (connection refused or reset)
        reject(err);
      };
      ws.onmessage = (ev) => {
        let msg;
        try {
          msg = decodeNodeMessage(ev.data);
        } catch {
          return;
        }
        if (msg.type !== "joined") return;
        clearTimeout(timer);
        if (!msg.resumed) {
          ws.onclose = ws.onmessage = null;
          try { ws.close(1000, "left"); } catch { /* closing */ }
          resolve(false);
          return;
        }
        const old = this.ws;
        if (old) old.onclose = old.onmessage = null;
        this.ws = ws;
        for (const p of msg.participants || []) this.#apply({ type: "participant_joined", participant: p });
        for (const t of msg.tracks || []) this.#apply({ type: "track_published", track: t });
        ws.onmessage = (e) => {
          let m;
          try {
            m = decodeNodeMessage(e.data);
          } catch (err) {
            console.warn(`chroom: ignoring a malformed message from the media node (${err.message})`, e.data);
            return;
          }
          this.#onMessage(m);
        };
        ws.onclose = (e) => this.#onSocketClosed(e);
        resolve(true);
      };
    });
  }

  // orchestratorAnswers tells whether this client can still reach the
  // orchestrator (GET …/placement within 3 s): if so, a node that refuses
  // connections is down, not this client's network.
  async #orchestratorAnswers() {
    try {
      await Promise.race([this.api.placement(this.room), new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 3_000))]);
      return true;
    } catch (e) {
      debugLog.add("orchestrator unreachable too", { error: describeError(e) });
      return false;
    }
  }

  /** debugDropSignal closes the signaling WebSocket as a network change would (tests). */
  debugDropSignal() {
    if (this.ws) this.ws.close(4000, "test: signaling dropped");
  }

  // --- signaling messages and room events --------------------------------

  #onMessage(msg) {
    if (msg.type !== "offer" && msg.type !== "answer" && msg.type !== "candidate") {
      debugLog.add(`${msg.type} received`, { participant: msg.participant?.identity, track: msg.track?.id, message: msg.message, reason: msg.reason });
    }
    switch (msg.type) {
      case "offer":
        this.#enqueue(() => this.#onOffer(msg.sdp));
        break;
      case "answer":
        this.#enqueue(() => this.#onAnswer(msg.sdp));
        break;
      case "candidate":
        this.#enqueue(() => this.#onCandidate(msg.candidate));
        break;
      case "participant_joined":
      case "participant_left":
      case "participant_updated":
      case "track_published":
      case "track_unpublished":
      case "track_muted":
      case "speakers":
        this.#apply(msg);
        this.#emit("update");
        break;
      case "room_ended":
        this.#end({ reason: `The room was ended${msg.reason ? ` (${msg.reason})` : ""}.`, error: false });
        break;
      case "removed":
        this.#end({ reason: `You were removed from the room${msg.reason ? ` (${msg.reason})` : ""}.`, error: false });
        break;
      case "error":
        this.#onNodeError(msg);
        break;
      case "publisher_layers":
        this.#setPublishedLayers(msg.track_id, msg.layers);
        break;
      case "joined":
        break;
      default:
        console.debug("chroom: ignoring message", msg.type);
    }
  }

  // setPublishedLayers turns the simulcast encodings of one of our tracks
  // on and off as the node asks (dynacast: layers nobody receives are not
  // encoded or sent; layers[i] is rid q/h/f). The node may send several
  // in a row (relay legs of a cascade attach at once); each
  // getParameters/setParameters pair must complete before the next starts
  // (webrtc-pc §5.2: a setParameters whose transactionId is stale fails),
  // so they are applied one at a time and the latest request wins. Seen:
  // 000 then 100, 110, 111 within 20 ms; the overlapping calls failed and
  // the camera stayed off for everyone.
  #setPublishedLayers(trackId, layers) {
    const slot = Object.values(this.local).find((s) => s && s.pubId === trackId && s.sender);
    debugLog.add("publisher layers", { track: trackId, layers: Array.isArray(layers) ? layers.map((on) => (on ? 1 : 0)).join("") : "?", found: !!slot });
    if (!slot || !Array.isArray(layers)) return;
    slot.wantLayers = slot.lastLayers = layers.slice(0, 3);
    if (slot.applyingLayers) return; // the running loop applies the latest request
    slot.applyingLayers = true;
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    (async () => {
      try {
        // Until the sender's encodings are what was asked last: each
        // round reads them afresh, so a failed or unanswered call is
        // simply tried again (at most 50 times, 0.2 s apart).
        for (let round = 0; round < 50 && !this.closed; round++) {
          const want = slot.wantLayers;
          if (!want) break;
          const params = slot.sender.getParameters();
          if (!params.encodings || params.encodings.length < 2) break;
          let changed = false;
          for (const e of params.encodings) {
            const i = { q: 0, h: 1, f: 2 }[e.rid];
            if (i === undefined) continue;
            const on = !!want[i];
            if (e.active !== on) {
              e.active = on;
              changed = true;
            }
          }
          const asked = want.map((on) => (on ? 1 : 0)).join("");
          if (!changed) {
            if (slot.wantLayers === want) slot.wantLayers = null; // done
            debugLog.add("publisher layers in effect", { layers: asked });
            continue;
          }
          const result = await Promise.race([
            slot.sender
              .setParameters(params)
              .then(
                () => "ok",
                (e) => `failed: ${describeError(e)}`,
              )
              .finally(() => {
                // A call answered after this loop gave up on it may have
                // set older layers: check again against the last request.
                if (!slot.applyingLayers && slot.lastLayers && !this.closed) this.#setPublishedLayers(trackId, slot.lastLayers);
              }),
            sleep(1000).then(() => "no answer in 1 s"),
          ]);
          if (result !== "ok") {
            debugLog.add("setParameters failed", { layers: asked, result, round });
            await sleep(200);
          }
        }
      } finally {
        slot.applyingLayers = false;
        slot.wantLayers = null;
      }
    })();
  }

  // recheckPublishedLayers re-applies the node's last publisher_layers to
  // any of our simulcast senders whose encodings no longer match it.
  // Chromium changes encodings' active flags on its own when it applies a
  // description that marks layers paused or resumed (RFC 8853 "~" in
  // a=simulcast); the node no longer sends those marks, but which layers
  // are sent is the node's decision (dynacast), so this runs after every
  // negotiation and with the debug stats (every 2 s) to keep it so.
  #recheckPublishedLayers() {
    for (const slot of Object.values(this.local)) {
      if (!slot || !slot.sender || !slot.lastLayers || slot.applyingLayers || !slot.pubId) continue;
      const enc = slot.sender.getParameters().encodings || [];
      if (enc.length < 2) continue;
      const drifted = enc.some((e) => {
        const i = { q: 0, h: 1, f: 2 }[e.rid];
        return i !== undefined && (e.active !== false) !== !!slot.lastLayers[i];
      });
      if (drifted) {
        debugLog.add("publisher layers drifted", { track: slot.pubId, encodings: describeEncodings(this.pc) });
        this.#setPublishedLayers(slot.pubId, slot.lastLayers);
      }
    }
  }

  // onNodeError handles an "error" message by its code (medianode
  // signal/codes.go): glare is expected, a refused offer is recovered, a
  // refused track is unpublished locally; anything else is shown.
  #onNodeError(msg) {
    const message = msg.message || "unknown error";
    const code = msg.code || "";
    if (code === "glare") {
      // The node kept its own offer; ours was rolled back when it came.
      return;
    }
    if (msg.request === "offer") {
      this.#enqueue(() => this.#recoverRejectedOffer(message));
      console.warn("chroom: the media node rejected an offer:", message);
      return;
    }
    if (msg.request === "candidate") {
      // Candidates of a rejected offer; they are sent again on recovery.
      console.warn("chroom: the media node rejected a candidate:", message);
      return;
    }
    if (code === "track_refused" && msg.track_id) {
      const why = message.replace(/^track \S+ refused: /, "");
      for (const source of SOURCES) {
        const slot = this.local[source];
        if (slot && slot.pubId === msg.track_id) {
          slot.unpublished = true;
          this.#stopLocal(source);
          this.#notice(`Your ${source} is not published: ${why}.`);
          this.#emit("local");
          return;
        }
      }
    }
    this.#notice(`The media node reported an error: ${message}`);
  }

  #onSocketClosed(ev) {
    if (this.closed) return;
    const reason = ev.reason || "";
    const terminal = /replaced|ended|removed|kicked|left|shutting down|connection failed|connection lost/i.test(reason);
    if (!terminal && !(ev.code === 1000 || ev.code === 1001)) {
      this.#reconnect(`the signaling connection dropped (code ${ev.code}${reason ? `, ${reason}` : ""})`);
      return;
    }
    if (/replaced/i.test(reason)) {
      this.#end({ reason: "You joined this room again from another tab or device, so this session ended.", error: false });
    } else if (/ended/i.test(reason)) {
      this.#end({ reason: `The room was ended (${reason}).`, error: false });
    } else if (/removed|kicked/i.test(reason)) {
      this.#end({ reason: `You were removed from the room (${reason}).`, error: false });
    } else {
      this.#end({ reason: `Lost the connection to the media node${reason ? `: ${reason}` : ""} (code ${ev.code}).`, error: true, rejoin: true });
    }
  }

  // apply applies a room event (roomstate.js) and acts on its effects on
  // this participant's own tracks and role.
  #apply(msg) {
    for (const fx of applyEvent(this.state, msg)) {
      switch (fx.type) {
        case "own_track_published":
          // One of ours is now published: send a mute that waited for it.
          for (const source of SOURCES) {
            const slot = this.local[source];
            if (slot && slot.pubId === fx.track.id && slot.muted !== fx.track.muted) this.#send({ type: "mute", track_id: fx.track.id, muted: slot.muted });
          }
          break;
        case "own_track_unpublished":
          for (const source of SOURCES) {
            const slot = this.local[source];
            if (slot && slot.pubId === fx.track.id) {
              slot.unpublished = true;
              if (slot.track) this.#notice(`Your ${source} is no longer published.`, false);
              this.#stopLocal(source);
              this.#emit("local");
            }
          }
          break;
        case "own_track_muted":
          this.#onOwnTrackMuted(fx.track);
          break;
        case "role_changed":
          this.#onRoleChanged(fx.from, fx.to);
          break;
        case "left":
          this.rttIn.forget(fx.identity);
          break;
      }
    }
  }

  #onOwnTrackMuted(t) {
    for (const source of SOURCES) {
      const slot = this.local[source];
      if (slot && slot.pubId === t.id && slot.muted !== !!t.muted) {
        slot.muted = !!t.muted;
        // A mute we did not ask for is the host's: it holds until the
        // host lifts it (the node refuses our own unmute meanwhile).
        slot.hostMuted = slot.muted;
        if (slot.track) slot.track.enabled = !slot.muted;
        if (slot.muted) this.#notice(`Your ${source} was muted by the host; only the host can unmute it.`, false);
        else this.#notice(`The host unmuted your ${source}.`, false);
        this.#emit("local");
      } else if (slot && slot.pubId === t.id && !t.muted) {
        slot.hostMuted = false;
      }
    }
  }

  #onRoleChanged(from, to) {
    this.role = to;
    const p = permissionsOf(to);
    if (!p.publish) for (const s of SOURCES) this.#stopLocal(s);
    else if (!p.screen) this.#stopLocal("screen");
    this.#notice(`Your role changed from ${from} to ${to}.`, false);
    this.#emit("local");
  }

  // --- data channel ------------------------------------------------------

  #onData(data) {
    const env = decodeEnvelope(data);
    if (!env) return;
    if (env.server) {
      // The app's own message, sent through its orchestrator.
      this.#emit("data", { from: "", server: true, payload: env.payload });
      return;
    }
    const payload = env.payload;
    if (typeof payload === "string") {
      // A client that sent plain text: show it as chat.
      this.#receiveChat(env.from, payload);
      return;
    }
    if (!payload || typeof payload !== "object") return;
    if (payload.type === "chat" && typeof payload.text === "string") this.#receiveChat(env.from, payload.text);
    else if (typeof payload.type === "string" && payload.type.startsWith("file-")) this.files.receive(env.from, payload);
    else if (payload.type === "rtt") this.#receiveRtt(env.from, payload);
    else if (payload.type === "hand" && typeof payload.up === "boolean") {
      if (applyHand(this.state, env.from, payload.up)) {
        this.#emit("hand", { identity: env.from, up: payload.up });
        this.#emit("update");
      }
    } else if (payload.type === "app") this.#emit("data", { from: env.from, server: false, payload: payload.data });
  }

  #receiveRtt(from, payload) {
    if (!isRttMessage(payload)) return;
    const r = this.rttIn.receive(from, payload);
    if (r) this.#emit("rtt", { from, name: this.displayName(from), ...r });
  }

  /**
   * sendRealtimeText sends the draft being typed as real-time text
   * (rtt.js): only the edit since the last call goes out, so receivers
   * see it character by character with corrections. endLine true ends
   * the line (Enter). Resolves when sent; rejects without the data
   * permission or a data channel.
   * @param {string} draft the whole line as typed so far
   * @param {{endLine?: boolean}} [opts]
   */
  async sendRealtimeText(draft, { endLine = false } = {}) {
    if (!this.perms.data) throw new Error(`a ${this.role} may not send text`);
    const msg = this.rttOut.update(draft);
    if (!msg && endLine && this.rttOut.shown === "") return; // an empty line ends nothing
    if (msg) await this.sendData(msg);
    if (endLine) await this.sendData(this.rttOut.newLine());
    if (msg || endLine) this.#emit("rtt", { from: this.identity, name: this.name, line: endLine ? "" : this.rttOut.shown, done: endLine ? [String(draft)] : [], gap: false, self: true });
  }

  /**
   * raiseHand raises (true) or lowers (false) this participant's hand:
   * every participant sees it (participantList().handRaised, "hand"
   * events); a host may invite a listener with a raised hand to the stage.
   */
  async raiseHand(up = true) {
    await this.sendData({ type: "hand", up: !!up });
    if (applyHand(this.state, this.identity, !!up)) {
      this.#emit("hand", { identity: this.identity, up: !!up });
      this.#emit("update");
    }
  }

  /** raisedHands lists the identities with a hand up, earliest first. */
  raisedHands() {
    return raisedHands(this.state);
  }

  /**
   * publishData sends an app's own JSON-serialisable value to everyone in
   * the room; they get a "data" event {from, payload}. At most 60 KiB.
   */
  publishData(value) {
    if (!this.perms.data) return Promise.reject(new Error(`a ${this.role} may not send data`));
    return this.sendData({ type: "app", data: value });
  }

  #receiveChat(from, text) {
    this.#emit("chat", { from, name: this.displayName(from), text: String(text).slice(0, MAX_CHAT_CHARS), at: Date.now(), self: false });
  }

  /** displayName is a participant's name, or their identity. */
  displayName(identity) {
    return this.participants.get(identity)?.name || identity;
  }

  /** sendData sends one JSON message on the data channel, waiting for room in its buffer. */
  async sendData(msg) {
    const dc = this.dc;
    if (!dc || this.closed) throw new Error("not in a call");
    if (dc.readyState === "connecting") await waitFor(dc, "open", DATA_OPEN_TIMEOUT_MS, "the data channel did not open");
    if (dc.readyState !== "open") throw new Error("the data channel is closed");
    const text = JSON.stringify(msg);
    if (text.length > MAX_DATA_MESSAGE_BYTES) throw new Error("the message is too large for the data channel");
    while (dc.bufferedAmount > DATA_HIGH_WATER_BYTES) {
      await waitFor(dc, "bufferedamountlow", 30_000, "the data channel stopped draining");
    }
    dc.send(text);
  }

  /** sendChat sends a chat message to the room and returns it. */
  async sendChat(text) {
    text = String(text ?? "").trim();
    if (!text) throw new Error("Sending the message failed: it is empty");
    if (text.length > MAX_CHAT_CHARS) throw new Error(`Sending the message failed: at most ${MAX_CHAT_CHARS} characters`);
    if (!this.perms.data) throw new Error(`Sending the message failed: a ${this.role} may not send messages`);
    try {
      await this.sendData({ type: "chat", text });
    } catch (e) {
      throw new Error(`Sending the message failed: ${e.message}`);
    }
    const msg = { from: this.identity, name: this.name, text, at: Date.now(), self: true };
    this.#emit("chat", msg);
    return msg;
  }

  /** sendFile sends a file (≤ 20 MiB) to the room. */
  sendFile(file) {
    if (!this.perms.data) return Promise.reject(new Error(`Sending the file failed: a ${this.role} may not send files`));
    return this.files.send(file);
  }

  // --- local media -------------------------------------------------------

  // publish sends track as source. A sender whose track the node still
  // has is reused with replaceTrack (no renegotiation); otherwise the
  // track is announced, then added, so the announcement precedes the offer
  // (syncAnnouncements corrects the ID if the browser chose another).
  #publish(source, track) {
    const slot = this.local[source];
    if (slot && slot.sender && !slot.unpublished && this.pc.getSenders().includes(slot.sender)) {
      if (slot.track && slot.track !== track) slot.track.stop();
      slot.track = track;
      track.enabled = true;
      slot.sender.replaceTrack(track).catch((e) => this.#notice(`Could not switch your ${source}: ${e.message}`));
      if (slot.muted) {
        slot.muted = false;
        if (this.tracks.has(slot.pubId)) this.#send({ type: "mute", track_id: slot.pubId, muted: false });
      }
      return;
    }
    if (slot && slot.sender) {
      try {
        this.pc.removeTrack(slot.sender);
      } catch {
        // the connection is closing
      }
    }
    this.#send({ type: "announce_track", track_id: track.id, source });
    // A new send-only transceiver: addTrack could reuse one the node's offer
    // created, whose a=msid would not carry this track's ID.
    const init = { direction: "sendonly", streams: [this.localStream] };
    const encodings = SEND_ENCODINGS[source];
    if (encodings && track.kind === "video") init.sendEncodings = encodings.map((e) => ({ ...e }));
    let sender;
    try {
      ({ sender } = this.pc.addTransceiver(track, init));
    } catch (e) {
      // A browser without simulcast (or these encodings) sends one layer.
      debugLog.add("simulcast refused", { source, error: describeError(e) });
      ({ sender } = this.pc.addTransceiver(track, { direction: "sendonly", streams: [this.localStream] }));
    }
    this.local[source] = { track, sender, pubId: track.id, muted: false, unpublished: false };
  }

  /** publishTrack publishes a newly acquired camera or microphone track. */
  publishTrack(source, track) {
    if (this.closed) throw new Error("not in a call");
    if (!this.perms.publish) throw new Error(`a ${this.role} may not publish`);
    this.#publish(source, track);
    this.#emit("local");
  }

  // stopLocal ends the local track of source but keeps its sender.
  #stopLocal(source) {
    const slot = this.local[source];
    if (!slot || !slot.track) return;
    slot.track.onended = null;
    slot.track.stop();
    slot.track = null;
    if (slot.sender && this.pc && this.pc.signalingState !== "closed") slot.sender.replaceTrack(null).catch(() => {});
  }

  /** setMuted turns a local source off (muted) or on; it returns false if there is no such track. */
  setMuted(source, muted) {
    const slot = this.local[source];
    if (!slot || !slot.track) return false;
    if (!muted && slot.hostMuted) {
      this.#notice(`The host muted your ${source}; only the host can unmute it.`);
      return false;
    }
    slot.track.enabled = !muted;
    slot.muted = muted;
    // A track the node has not confirmed yet gets its mute on track_published.
    if (this.tracks.has(slot.pubId)) this.#send({ type: "mute", track_id: slot.pubId, muted });
    this.#emit("local");
    return true;
  }

  /** localState reports each source: {active, muted} (active: a live track). */
  localState(source) {
    const slot = this.local[source];
    return { active: !!(slot && slot.track && slot.track.readyState === "live"), muted: !!slot?.muted, track: slot?.track || null };
  }

  /** startScreenShare asks the browser for a screen and publishes it. */
  async startScreenShare() {
    const step = "Sharing your screen";
    if (!this.perms.screen) throw new StepError(step, `a ${this.role} may not share a screen; ask the host to make you a presenter`);
    if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) throw new StepError(step, "this browser cannot share a screen");
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (e) {
      if (e.name === "NotAllowedError") throw new StepError(step, "permission was denied or the picker was closed");
      throw new StepError(step, describeError(e));
    }
    const track = stream.getVideoTracks()[0];
    if (!track) throw new StepError(step, "the browser returned no video");
    if (this.closed) {
      track.stop();
      throw new StepError(step, "the call has ended");
    }
    if ("contentHint" in track) track.contentHint = "detail";
    this.#publish("screen", track);
    // The browser's own "Stop sharing" button ends the track.
    track.onended = () => this.stopScreenShare();
    this.#emit("local");
  }

  /** stopScreenShare ends the screen share; others see the screen track muted. */
  stopScreenShare() {
    const slot = this.local.screen;
    if (!slot || !slot.track) return;
    this.#stopLocal("screen");
    slot.muted = true;
    if (this.tracks.has(slot.pubId)) this.#send({ type: "mute", track_id: slot.pubId, muted: true });
    this.#emit("local");
  }

  /** setLayer asks for a simulcast layer (0 low … 2 high) of a remote video track. */
  setLayer(trackId, layer) {
    this.#send({ type: "layer", track_id: trackId, layer });
  }

  // --- remote media ------------------------------------------------------

  /**
   * remoteMedia lists the tracks the node sends us now:
   * [{trackId, publisher, kind, source, muted, track}]. The remote
   * description's a=msid lines tie each transceiver to a published track.
   */
  remoteMedia() {
    const sdp = this.pc?.remoteDescription?.sdp;
    if (!sdp || this.closed) return [];
    const transceivers = this.pc.getTransceivers();
    const out = [];
    for (const s of parseSections(sdp)) {
      if (!s.mid || !s.trackId || s.port === 0) continue;
      if (s.direction !== "sendrecv" && s.direction !== "sendonly") continue;
      const tr = transceivers.find((t) => t.mid === s.mid);
      if (!tr || !tr.receiver || !tr.receiver.track) continue;
      if (tr.currentDirection && !/recv/.test(tr.currentDirection)) continue;
      const track = tr.receiver.track;
      const info = this.tracks.get(s.trackId);
      const publisher = info?.publisher || s.streamId;
      if (!publisher || publisher === this.identity) continue;
      out.push({
        trackId: s.trackId,
        publisher,
        kind: track.kind,
        source: info?.source || (track.kind === "audio" ? "microphone" : "camera"),
        muted: !!info?.muted,
        track,
      });
    }
    return out;
  }

  /** participantList is the room's participants with their tracks, whether they speak and whether their hand is up. */
  participantList() {
    return participantList(this.state);
  }

  /** mergeParticipants takes the orchestrator's participant list (host view). */
  mergeParticipants(list) {
    for (const p of list) this.#apply({ type: "participant_updated", participant: p });
    this.#emit("update");
  }

  // --- statistics --------------------------------------------------------

  /** stats samples the connection (stats.js collectStats); null if closed. */
  async stats() {
    if (!this.pc || this.pc.signalingState === "closed") return null;
    return collectStats(this.pc, this.totals);
  }

  /** framesDecoded is the number of video frames decoded in this session. */
  async framesDecoded() {
    const s = await this.stats().catch(() => null);
    return s ? s.framesDecoded : this.lastTotals.framesDecoded;
  }

  /**
   * audioSamplesReceived is the number of audio samples decoded in this
   * session, summed over the inbound audio streams (getStats inbound-rtp
   * totalSamplesReceived, W3C webrtc-stats); the last reported total when
   * closed.
   */
  async audioSamplesReceived() {
    const s = await this.stats().catch(() => null);
    return s ? s.audioSamples : this.lastTotals.audioSamples;
  }

  /**
   * #usageTotals folds a stats sample into the reported totals: whole,
   * non-negative, and never below what was reported before, so the
   * figures posted and signed only go up.
   */
  #usageTotals(s) {
    if (s) {
      const next = {};
      for (const k of USAGE_FIGURES) next[k] = Math.max(this.lastTotals[k] || 0, Math.max(0, Math.floor(s[k] || 0)));
      this.lastTotals = next;
    }
    return this.lastTotals;
  }

  /** #reportStats reports usage, one report at a time (signed statements carry increasing seq). */
  #reportStats({ keepalive = false } = {}) {
    this.statsChain = (this.statsChain || Promise.resolve()).then(() => this.#reportStatsNow({ keepalive }));
    return this.statsChain;
  }

  async #reportStatsNow({ keepalive }) {
    const t = this.#usageTotals(await this.stats().catch(() => null));
    this.#send({ type: "client_stats", bytes_received: t.bytesReceived, frames_decoded: t.framesDecoded });
    try {
      let statement = null;
      const key = this.grant.clientKey;
      if (key && this.grant.chain_id) {
        this.statementSeq = (this.statementSeq || 0) + 1;
        const seq = this.statementSeq;
        const elapsedMs = Math.floor(performance.now() - (this.grant.receivedAt || 0));
        const signature = await signStatement(key.privateKey, this.grant.chain_id, grantId(this.grant.token), { seq, elapsedMs, ...t });
        statement = { seq, elapsed_ms: elapsedMs, signature };
      }
      await this.api.reportStats(this.room, this.grant.token, t, { keepalive, statement });
      if (statement) this.statementsAccepted = (this.statementsAccepted || 0) + 1;
      this.statsError = null;
    } catch (e) {
      if (this.statsError !== e.message) console.warn("chroom:", e.message);
      this.statsError = e.message;
    }
  }

  // --- leaving -----------------------------------------------------------

  /** leave reports the final statistics, tells the node, and ends the call. */
  async leave() {
    if (this.closed) return;
    await Promise.race([this.#reportStats({ keepalive: true }), new Promise((r) => setTimeout(r, 1500))]);
    this.#send({ type: "leave" });
    this.#end({ reason: "You left the room.", error: false });
  }

  /** leaveNow leaves without waiting (page unload): last known totals, keepalive. */
  leaveNow() {
    if (this.closed) return;
    const t = this.lastTotals;
    this.#send({ type: "client_stats", bytes_received: t.bytesReceived, frames_decoded: t.framesDecoded });
    // An attested grant takes signed statements only, and signing is
    // async: the last periodic statement (≤ 5 s old) stands.
    if (!this.grant.clientKey) this.api.reportStats(this.room, this.grant.token, t, { keepalive: true }).catch(() => {});
    this.#send({ type: "leave" });
    this.#end({ reason: "You left the room.", error: false });
  }

  // rejoin marks an end the app should repair by joining again through the
  // orchestrator (the node lost the session or cannot be reached): "ended"
  // carries it.
  #end({ reason, error, quiet = false, rejoin = false, unreachableNode = "" }) {
    if (this.closed) return;
    this.closed = true;
    this.endReason = reason;
    for (const t of this.timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    clearTimeout(this.offerTimer);
    debugLog.add("ended", { reason, error });
    for (const s of SOURCES) {
      const slot = this.local[s];
      if (slot?.track) {
        slot.track.onended = null;
        slot.track.stop();
      }
    }
    if (this.initialMedia) for (const t of this.initialMedia.getTracks()) t.stop();
    this.files.dispose();
    try {
      this.dc?.close();
    } catch {
      // already closed
    }
    try {
      this.pc?.close();
    } catch {
      // already closed
    }
    if (this.ws) {
      this.ws.onclose = this.ws.onmessage = null;
      try {
        this.ws.close(1000, "left");
      } catch {
        // already closed
      }
    }
    if (!quiet) this.#emit("ended", { reason, error, rejoin, unreachableNode });
  }
}

// waitFor resolves on target's event, rejecting after ms or when target closes.
function waitFor(target, event, ms, why) {
  return new Promise((resolve, reject) => {
    const done = (fn, arg) => {
      clearTimeout(timer);
      target.removeEventListener(event, onEvent);
      target.removeEventListener("close", onClose);
      fn(arg);
    };
    const onEvent = () => done(resolve);
    const onClose = () => done(reject, new Error("the data channel closed"));
    const timer = setTimeout(() => done(reject, new Error(why)), ms);
    target.addEventListener(event, onEvent);
    target.addEventListener("close", onClose);
  });
}
