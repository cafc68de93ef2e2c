// The call's debug log: a bounded record of what the client did and saw —
// the negotiation state machine (offers, answers, rollbacks, glare), track
// and transceiver events, ICE/DTLS/connection state changes and periodic
// receive/send figures (frames and keyframes decoded, PLIs). It is always
// recorded (a few hundred small objects per minute) so that a failure can
// be explained after the fact; with ?debug=1 in the page URL each entry is
// also printed to the console. window.chroom.debugLog() returns it.

import { parseSections } from "./sdp.js";

const MAX_ENTRIES = 5000;

export class DebugLog {
  /** @param {boolean} echo print each entry with console.debug */
  constructor(echo = false) {
    this.echo = echo;
    this.start = Date.now();
    /** @type {Array<{t: number, at: string, event: string}>} t: ms since page load */
    this.entries = [];
    this.dropped = 0;
  }

  /**
   * add records one event with its fields (plain values only).
   * @param {string} event a short name, e.g. "offer sent"
   * @param {object} [fields]
   */
  add(event, fields = {}) {
    const now = Date.now();
    const e = { t: now - this.start, at: new Date(now).toISOString(), event, ...fields };
    this.entries.push(e);
    if (this.entries.length > MAX_ENTRIES) {
      this.entries.splice(0, this.entries.length - MAX_ENTRIES);
      this.dropped++;
    }
    if (this.echo) console.debug("chroom", event, fields);
  }

  /** text renders the log one entry per line, for bug reports and test output. */
  text() {
    return this.entries.map(({ t, at, event, ...f }) => {
      const rest = Object.entries(f).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
      return `${at} +${t}ms ${event}${rest ? " " + rest : ""}`;
    }).join("\n");
  }
}

/**
 * describeSections summarizes an SDP's m-sections (sdp.js parseSections)
 * as "mid:kind:direction[:track][:simulcast]" joined by spaces; a port-0
 * m-section shows as "rejected", simulcast as e.g. "[send q;~h;~f]".
 */
export function describeSections(sdp) {
  return parseSections(sdp)
    .map((s) => `${s.mid ?? ""}:${s.kind}:${s.port === 0 ? "rejected" : s.direction}${s.trackId ? ":" + s.trackId : ""}${s.simulcast ? ":[" + s.simulcast + "]" : ""}`)
    .join(" ");
}

/**
 * describeEncodings summarizes the simulcast encodings of pc's senders as
 * "rid=1|0 …" per sender with more than one encoding (1: active), e.g.
 * "q1h1f0", or "" when none sends simulcast.
 */
export function describeEncodings(pc) {
  const out = [];
  for (const s of pc?.getSenders?.() || []) {
    const enc = s.getParameters?.().encodings || [];
    if (enc.length > 1) out.push(enc.map((e) => `${e.rid ?? "?"}${e.active === false ? 0 : 1}`).join(""));
  }
  return out.join(" ");
}

/** debugLog is the page's log (one call at a time). */
export const debugLog = new DebugLog(/[?&]debug=1\b/.test(globalThis.location?.search || ""));
