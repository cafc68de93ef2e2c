// File transfer over the room's data channel, in JSON messages the media
// node relays to everyone else:
//   {"type":"file-start","id","name","size","mime"}
//   {"type":"file-chunk","id","seq","data": base64, at most 12 KiB}
//   {"type":"file-end","id","sha256": lowercase hex}
// The receiver reassembles the chunks in order, checks the size and the
// SHA-256, and offers a download link.

import { base64ToBytes, bytesToBase64, formatBytes, randomId, sha256Hex } from "./util.js";

/** MAX_FILE_BYTES is the largest file sent or accepted: 20 MiB. */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;
/** CHUNK_BYTES of raw data encode to 12 KiB of base64, the protocol's limit. */
export const CHUNK_BYTES = 9 * 1024;
const MAX_CHUNK_BASE64 = 12 * 1024;
const MAX_INCOMING_PER_SENDER = 4;
const STALL_TIMEOUT_MS = 60_000;
const MAX_NAME_CHARS = 255;

/**
 * A file record, as listed in window.chroom.files:
 * {id, name, size, mime, from, direction: "in"|"out",
 *  status: "sending"|"sent"|"receiving"|"complete"|"failed"|"refused",
 *  bytes (transferred so far), sha256, verified, url (download link), error}
 */

/**
 * FileTransfers sends and receives files. It emits "file" events (detail:
 * the record) whenever a record changes.
 */
export class FileTransfers extends EventTarget {
  /**
   * @param {(msg: object) => Promise<void>} send sends one data-channel message
   * @param {string} self this participant's identity
   */
  constructor({ send, self }) {
    super();
    this.sendMessage = send;
    this.self = self;
    /** @type {object[]} every record, oldest first */
    this.list = [];
    this.incoming = new Map(); // `${from}\n${id}` → {record, chunks, nextSeq, lastAt}
    this.timer = setInterval(() => this.#expire(), 10_000);
  }

  #changed(record) {
    this.dispatchEvent(new CustomEvent("file", { detail: record }));
  }

  /** send transfers file to the room; it resolves when every chunk is queued. */
  async send(file) {
    if (!(file instanceof Blob)) throw new Error("choose a file to send");
    const name = (file.name || "file").slice(0, MAX_NAME_CHARS);
    if (file.size > MAX_FILE_BYTES) {
      throw new Error(`"${name}" is ${formatBytes(file.size)}; files larger than 20 MiB cannot be sent`);
    }
    const record = {
      id: randomId("f-"), name, size: file.size, mime: file.type || "application/octet-stream",
      from: this.self, direction: "out", status: "sending", bytes: 0, sha256: null, verified: true, url: null, error: null,
    };
    this.list.push(record);
    this.#changed(record);
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      record.sha256 = await sha256Hex(bytes);
      await this.sendMessage({ type: "file-start", id: record.id, name, size: bytes.length, mime: record.mime });
      for (let seq = 0, off = 0; off < bytes.length; seq++, off += CHUNK_BYTES) {
        const chunk = bytes.subarray(off, off + CHUNK_BYTES);
        await this.sendMessage({ type: "file-chunk", id: record.id, seq, data: bytesToBase64(chunk) });
        record.bytes = off + chunk.length;
        if (seq % 16 === 0) this.#changed(record);
      }
      await this.sendMessage({ type: "file-end", id: record.id, sha256: record.sha256 });
      record.status = "sent";
      record.bytes = bytes.length;
      record.url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    } catch (e) {
      record.status = "failed";
      record.error = `sending "${name}" failed: ${e.message}`;
      this.#changed(record);
      throw new Error(record.error);
    }
    this.#changed(record);
    return record;
  }

  /** receive handles one file-* message from identity from; it returns true if it was one. */
  receive(from, msg) {
    switch (msg.type) {
      case "file-start":
        this.#start(from, msg);
        return true;
      case "file-chunk":
        this.#chunk(from, msg);
        return true;
      case "file-end":
        this.#finish(from, msg);
        return true;
      default:
        return false;
    }
  }

  #start(from, msg) {
    if (typeof msg.id !== "string" || !msg.id || msg.id.length > 128) return;
    const key = `${from}\n${msg.id}`;
    if (this.incoming.has(key) || this.list.some((r) => r.from === from && r.id === msg.id)) return;
    const name = typeof msg.name === "string" && msg.name.trim() ? msg.name.slice(0, MAX_NAME_CHARS) : "file";
    const size = Number(msg.size);
    const record = {
      id: msg.id, name, size, mime: typeof msg.mime === "string" ? msg.mime.slice(0, 100) : "", from, direction: "in",
      status: "receiving", bytes: 0, sha256: null, verified: false, url: null, error: null,
    };
    this.list.push(record);
    if (!Number.isSafeInteger(size) || size < 0) {
      record.status = "refused";
      record.error = `"${name}" was refused: its size is not valid`;
    } else if (size > MAX_FILE_BYTES) {
      record.status = "refused";
      record.error = `"${name}" (${formatBytes(size)}) was refused: files larger than 20 MiB are not accepted`;
    } else if ([...this.incoming.keys()].filter((k) => k.startsWith(`${from}\n`)).length >= MAX_INCOMING_PER_SENDER) {
      record.status = "refused";
      record.error = `"${name}" was refused: too many files at once from the same sender`;
    } else {
      this.incoming.set(key, { record, chunks: [], nextSeq: 0, lastAt: Date.now() });
    }
    this.#changed(record);
  }

  #fail(key, entry, why) {
    this.incoming.delete(key);
    entry.chunks = [];
    entry.record.status = "failed";
    entry.record.error = `receiving "${entry.record.name}" failed: ${why}`;
    this.#changed(entry.record);
  }

  #chunk(from, msg) {
    const key = `${from}\n${msg.id}`;
    const entry = this.incoming.get(key);
    if (!entry) return;
    if (msg.seq !== entry.nextSeq) return this.#fail(key, entry, `chunk ${msg.seq} arrived where ${entry.nextSeq} was expected`);
    if (typeof msg.data !== "string" || msg.data.length > MAX_CHUNK_BASE64) return this.#fail(key, entry, "a chunk is missing or larger than 12 KiB");
    let bytes;
    try {
      bytes = base64ToBytes(msg.data);
    } catch {
      return this.#fail(key, entry, "a chunk is not valid base64");
    }
    if (entry.record.bytes + bytes.length > entry.record.size) return this.#fail(key, entry, "more data arrived than announced");
    entry.chunks.push(bytes);
    entry.nextSeq++;
    entry.lastAt = Date.now();
    entry.record.bytes += bytes.length;
    if (entry.nextSeq % 16 === 0) this.#changed(entry.record);
  }

  async #finish(from, msg) {
    const key = `${from}\n${msg.id}`;
    const entry = this.incoming.get(key);
    if (!entry) return;
    this.incoming.delete(key);
    const r = entry.record;
    if (r.bytes !== r.size) return this.#fail(key, entry, `${formatBytes(r.bytes)} of ${formatBytes(r.size)} arrived`);
    const blob = new Blob(entry.chunks);
    entry.chunks = [];
    let sum;
    try {
      sum = await sha256Hex(await blob.arrayBuffer());
    } catch (e) {
      return this.#fail(key, entry, e.message);
    }
    r.sha256 = sum;
    if (typeof msg.sha256 !== "string" || msg.sha256.toLowerCase() !== sum) {
      return this.#fail(key, entry, "the SHA-256 checksum does not match; the file is damaged");
    }
    r.verified = true;
    r.status = "complete";
    // A download, never a page of this origin: the sender chose the bytes.
    r.url = URL.createObjectURL(new Blob([blob], { type: "application/octet-stream" }));
    this.#changed(r);
  }

  #expire() {
    const now = Date.now();
    for (const [key, entry] of this.incoming) {
      if (now - entry.lastAt > STALL_TIMEOUT_MS) this.#fail(key, entry, "the sender stopped sending");
    }
  }

  /** dispose stops the stall timer; download links stay valid. */
  dispose() {
    clearInterval(this.timer);
    for (const [key, entry] of this.incoming) this.#fail(key, entry, "the call ended");
  }

  /** revoke releases every download link. */
  revoke() {
    for (const r of this.list) if (r.url) URL.revokeObjectURL(r.url);
  }
}
