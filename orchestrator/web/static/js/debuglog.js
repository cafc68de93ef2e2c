// The call's debug log: a bounded record of what the client did and saw —
// the negotiation state machine (offers, answers, rollbacks, glare), track
// and transceiver events, ICE/DTLS/connection state changes and periodic
// receive/send figures (frames and keyframes decoded, PLIs). It is always
// recorded (a few hundred small objects per minute) so that a failure can
// be explained after the fact; with ?debug=1 in the page URL each entry is
// also printed to the console. window.chroom.debugLog() returns it.

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
 * sections summarizes an SDP's m-sections as "mid:kind:direction[:track]"
 * joined by spaces (port 0 shows as "rejected").
 */
export function describeSections(sdp) {
  const out = [];
  let cur = null;
  for (const raw of String(sdp || "").split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      if (cur) out.push(cur);
      const f = line.slice(2).split(" ");
      cur = { kind: f[0], mid: "", dir: f[1] === "0" ? "rejected" : "", track: "" };
    } else if (!cur) {
      continue;
    } else if (line.startsWith("a=mid:")) {
      cur.mid = line.slice(6);
    } else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
      if (cur.dir !== "rejected") cur.dir = line.slice(2);
    } else if (line.startsWith("a=msid:")) {
      const f = line.slice(7).split(" ");
      if (f.length === 2) cur.track = f[1];
    }
  }
  if (cur) out.push(cur);
  return out.map((s) => `${s.mid}:${s.kind}:${s.dir}${s.track ? ":" + s.track : ""}`).join(" ");
}

/** debugLog is the page's log (one call at a time). */
export const debugLog = new DebugLog(/[?&]debug=1\b/.test(globalThis.location?.search || ""));
