// Real-time text: text sent as it is typed, character by character, with
// corrections — the model of ITU-T T.140 (the presentation coding of text
// conversation, used over RTP by RFC 4103) carried on the room's data
// channel instead of RTP. A sender transmits only edits at the end of its
// text: new characters, and BACKSPACE (U+0008) to erase the last one; a
// correction in the middle is sent as backspaces back to it and the rest
// typed again. A LINE SEPARATOR (U+2028; CR LF and LF are accepted) ends a
// line. Each message carries a sequence number; a receiver that sees one
// missing marks the gap with U+FFFD, as T.140 prescribes for lost text, so
// a reader knows something is missing instead of reading a wrong sentence.
//
// Wire shape (the payload of one data message):
//   {type: "rtt", seq: <uint, +1 per message>, t140: "<T.140 characters>"}
//   {type: "rtt", seq: 0, reset: true}   the sender starts over (joined
//                                         again, cleared its draft)
// Pure module: no DOM, no network; unit-tested under Node.

/** BACKSPACE erases the last character (T.140's erasure). */
export const BS = "\u0008";
/** LINE_SEPARATOR ends a line (T.140's new line). */
export const LINE_SEPARATOR = "\u2028";
/** MISSING marks lost text (T.140: U+FFFD REPLACEMENT CHARACTER). */
export const MISSING = "\uFFFD";
/** MAX_RTT_LINE is the most characters one line keeps (older ones scroll off). */
export const MAX_RTT_LINE = 2000;
/** MAX_RTT_CHUNK is the most T.140 characters one message may carry. */
export const MAX_RTT_CHUNK = 4096;

const BOM = "\uFEFF";

// chars splits a string into code points, so an emoji is one character
// to erase, not two UTF-16 units.
const chars = (s) => Array.from(s);

/**
 * editFor returns the T.140 characters that turn the text a receiver
 * shows (prev) into next: a backspace for every character after their
 * common prefix, then the rest of next. "" when they are equal.
 * @param {string} prev
 * @param {string} next
 * @returns {string}
 */
export function editFor(prev, next) {
  const a = chars(prev);
  const b = chars(next);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return BS.repeat(a.length - i) + b.slice(i).join("");
}

/**
 * applyT140 applies T.140 characters to the current line and returns
 * {line, done}: done are the lines that ended (in order), line the one
 * still being typed. A backspace on an empty line does nothing (T.140
 * does not erase across lines); BOM and other C0 controls are ignored.
 * @param {string} line the line so far
 * @param {string} t140 received characters
 * @returns {{line: string, done: string[]}}
 */
export function applyT140(line, t140) {
  let cur = chars(line);
  const done = [];
  const s = String(t140).replace(/\r\n|\n/g, LINE_SEPARATOR);
  for (const c of s) {
    if (c === BS) {
      cur.pop();
    } else if (c === LINE_SEPARATOR) {
      done.push(cur.join(""));
      cur = [];
    } else if (c === BOM || (c < " " && c !== "\t") || c === "\u007F") {
      // not text
    } else {
      cur.push(c);
      if (cur.length > MAX_RTT_LINE) cur = cur.slice(cur.length - MAX_RTT_LINE);
    }
  }
  return { line: cur.join(""), done };
}

/**
 * RttSender turns successive states of a draft into rtt messages.
 * update(draft) returns the message to send, or null when nothing
 * changed; newLine() ends the line (Enter); reset() starts over.
 */
export class RttSender {
  constructor() {
    this.seq = 0;
    this.shown = ""; // what receivers show of the current line
  }

  #message(t140) {
    this.seq++;
    return { type: "rtt", seq: this.seq, t140 };
  }

  /**
   * update returns {type:"rtt", seq, t140} that brings receivers from the
   * last sent state to draft, or null if they already show it. A draft
   * longer than MAX_RTT_LINE is cut to its first MAX_RTT_LINE characters.
   * @param {string} draft the whole current line
   */
  update(draft) {
    const next = chars(String(draft ?? "").replace(/[\r\n\u2028]/g, " ")).slice(0, MAX_RTT_LINE).join("");
    const t140 = editFor(this.shown, next);
    if (!t140) return null;
    this.shown = next;
    return this.#message(t140);
  }

  /** newLine ends the current line: the message to send. */
  newLine() {
    this.shown = "";
    return this.#message(LINE_SEPARATOR);
  }

  /** reset tells receivers to drop what they show of this sender. */
  reset() {
    this.shown = "";
    this.seq = 0;
    return { type: "rtt", seq: 0, reset: true };
  }
}

/**
 * RttReceiver keeps, per sender, the line being typed and the lines
 * that ended. receive(from, payload) applies one rtt message and returns
 * {line, done, gap} (gap: messages were lost before this one), or null
 * for a malformed or stale message.
 */
export class RttReceiver {
  constructor() {
    /** @type {Map<string, {seq: number, line: string}>} */
    this.peers = new Map();
  }

  /** line is what sender is typing now ("" if nothing). */
  line(from) {
    return this.peers.get(from)?.line ?? "";
  }

  /** forget drops a sender (it left). */
  forget(from) {
    this.peers.delete(from);
  }

  receive(from, msg) {
    if (!isRttMessage(msg)) return null;
    let p = this.peers.get(from);
    if (msg.reset) {
      this.peers.set(from, { seq: 0, line: "" });
      return { line: "", done: [], gap: false };
    }
    if (!p) {
      // First message heard from this sender (we joined mid-line):
      // whatever came before is lost to us, but it is not a gap.
      p = { seq: msg.seq - 1, line: "" };
      this.peers.set(from, p);
    }
    if (msg.seq <= p.seq) return null; // a duplicate or reordered message
    const gap = msg.seq !== p.seq + 1;
    const { line, done } = applyT140(gap ? p.line + MISSING : p.line, msg.t140);
    p.seq = msg.seq;
    p.line = line;
    return { line, done, gap };
  }
}

/**
 * isRttMessage says whether payload is a well-formed rtt message:
 * {type:"rtt", seq: integer ≥ 1, t140: string ≤ MAX_RTT_CHUNK} or
 * {type:"rtt", seq: 0, reset: true}.
 */
export function isRttMessage(payload) {
  if (!payload || payload.type !== "rtt" || !Number.isSafeInteger(payload.seq) || payload.seq < 0) return false;
  if (payload.reset === true) return payload.seq === 0;
  return payload.seq >= 1 && typeof payload.t140 === "string" && payload.t140.length <= MAX_RTT_CHUNK;
}
