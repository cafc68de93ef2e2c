// The signaling protocol with a media node, as pure parts: decoding the
// node's WebSocket messages (medianode/signal/ws.go has their shapes),
// the data channel's envelopes, and the negotiation state machine the
// Room runs over one RTCPeerConnection — W3C "perfect negotiation"
// (webrtc-pc §10.7) with the client as the polite peer, plus the
// back-off after offers the node refuses. No DOM, no network; unit-tested
// under Node.

/** Node message types the client acts on. */
export const NODE_MESSAGES = new Set([
  "joined", "offer", "answer", "candidate", "error",
  "participant_joined", "participant_updated", "participant_left",
  "track_published", "track_unpublished", "track_muted",
  "speakers", "publisher_layers", "room_ended", "removed",
]);

/** SignalError is a node message the client cannot use. */
export class SignalError extends Error {
  constructor(message) {
    super(message);
    this.name = "SignalError";
  }
}

/**
 * decodeNodeMessage parses one WebSocket text frame from the media node.
 * Returns the message; throws SignalError naming what is wrong: not
 * JSON, no type, or a description/candidate without its field. Unknown
 * types are returned (a newer node may send more); callers ignore them.
 * @param {string} text
 */
export function decodeNodeMessage(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch (e) {
    throw new SignalError(`not JSON: ${e.message}`);
  }
  if (!msg || typeof msg !== "object" || Array.isArray(msg)) throw new SignalError("not a JSON object");
  if (typeof msg.type !== "string" || !msg.type) throw new SignalError("no message type");
  if ((msg.type === "offer" || msg.type === "answer") && (typeof msg.sdp !== "string" || !msg.sdp.startsWith("v=0"))) {
    throw new SignalError(`${msg.type} without a session description`);
  }
  if (msg.type === "candidate" && (!msg.candidate || typeof msg.candidate !== "object")) throw new SignalError("candidate without a candidate");
  return msg;
}

/**
 * candidateInit turns a node's candidate into an RTCIceCandidateInit, or
 * null when it carries none (end of candidates). A candidate with neither
 * sdpMid nor sdpMLineIndex is for the first m-section (the node bundles).
 */
export function candidateInit(c) {
  if (!c || typeof c.candidate !== "string" || !c.candidate) return null;
  const init = { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null };
  if (init.sdpMid === null && init.sdpMLineIndex === null) init.sdpMLineIndex = 0;
  if (c.usernameFragment) init.usernameFragment = c.usernameFragment;
  return init;
}

/** iceUfrag is a description's ICE username fragment (RFC 8839 §5.4), or undefined. */
export function iceUfrag(sdp) {
  return /a=ice-ufrag:(\S+)/.exec(sdp || "")?.[1];
}

/**
 * decodeEnvelope parses a data channel message as the node relays it:
 * {from: identity, payload: any}, or from the app's server (POST
 * /v1/rooms/{room}/data) {from: "", server: true, payload}. Returns
 * {from, payload, server} or null if it is not one (a client may send
 * anything; it is never trusted further).
 */
export function decodeEnvelope(data) {
  if (typeof data !== "string") return null;
  let env;
  try {
    env = JSON.parse(data);
  } catch {
    return null;
  }
  if (!env || typeof env !== "object" || typeof env.from !== "string") return null;
  if (env.server === true) return { from: "", payload: env.payload, server: true };
  if (!env.from) return null;
  return { from: env.from, payload: env.payload, server: false };
}

/** Back-off of offers the node refuses: 150 ms doubling to 3 s, ±25 %. */
export const OFFER_RETRY_BASE_MS = 150;
export const OFFER_RETRY_MAX_MS = 3_000;
/** After this many refusals in a row the client stops offering. */
export const MAX_OFFER_RETRIES = 8;

/**
 * Negotiation decides, from the RTCPeerConnection's signaling state,
 * what to do with each step of the offer/answer exchange:
 *   canOffer(state)       make an offer now?
 *   onNodeOffer(state)    {rollback}: the node's offer crossed ours
 *                         (glare): we are polite, roll ours back
 *   onNodeAnswer(state)   apply it? (only with our offer pending)
 *   onRefused(now, rand)  {giveUp, retryAt}: the node refused our offer
 *   retryDelay(now)       ms to wait before the next offer
 * Its only state is the refusals in a row and the earliest next offer.
 */
export class Negotiation {
  constructor() {
    this.failures = 0;
    this.notBefore = 0;
  }

  /** canOffer: only from "stable", and not after MAX_OFFER_RETRIES refusals. */
  canOffer(signalingState) {
    return signalingState === "stable" && this.failures <= MAX_OFFER_RETRIES;
  }

  onNodeOffer(signalingState) {
    return { rollback: signalingState !== "stable" };
  }

  /** onNodeAnswer says whether to apply an answer; it resets the back-off. */
  onNodeAnswer(signalingState) {
    if (signalingState !== "have-local-offer") return false;
    this.failures = 0;
    this.notBefore = 0;
    return true;
  }

  /**
   * onRefused records a refusal (not glare) at now (ms); rand() in [0,1)
   * jitters the delay. giveUp after MAX_OFFER_RETRIES in a row.
   */
  onRefused(now, rand = Math.random) {
    this.failures++;
    if (this.failures > MAX_OFFER_RETRIES) return { giveUp: true, retryAt: 0 };
    const delay = Math.min(OFFER_RETRY_MAX_MS, OFFER_RETRY_BASE_MS * 2 ** (this.failures - 1));
    this.notBefore = now + delay * (0.75 + rand() / 2);
    return { giveUp: false, retryAt: this.notBefore };
  }

  retryDelay(now) {
    return Math.max(0, this.notBefore - now);
  }
}
