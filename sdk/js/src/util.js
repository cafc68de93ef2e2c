// Small helpers shared by the client's modules.

/** randomId returns prefix followed by 16 random hex digits. */
export function randomId(prefix = "") {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return prefix + toHex(b);
}

/** toHex renders bytes (ArrayBuffer or Uint8Array) as lowercase hex. */
export function toHex(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** bytesToBase64 encodes a Uint8Array as standard base64. */
export function bytesToBase64(bytes) {
  let s = "";
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + step));
  }
  return btoa(s);
}

/** base64ToBytes decodes standard base64; it throws on malformed input. */
export function base64ToBytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** sha256Hex is the SHA-256 of data (BufferSource) in lowercase hex. */
export async function sha256Hex(data) {
  if (!globalThis.crypto || !crypto.subtle) {
    throw new Error("checksums need a secure context (open the page over https or on localhost)");
  }
  return toHex(await crypto.subtle.digest("SHA-256", data));
}

/** formatBytes renders a byte count with a binary unit. */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** formatBitrate renders bits per second. */
export function formatBitrate(bps) {
  if (!Number.isFinite(bps)) return "–";
  if (bps < 1000) return `${Math.round(bps)} bit/s`;
  if (bps < 1e6) return `${Math.round(bps / 1000)} kbit/s`;
  return `${(bps / 1e6).toFixed(2)} Mbit/s`;
}

/**
 * formatUchr renders an amount of uchr (a decimal string of any size) in
 * CHR, 1 CHR = 10^6 uchr, without floating-point rounding.
 */
export function formatUchr(amount) {
  if (typeof amount !== "string" && typeof amount !== "number") return "–";
  const s = String(amount);
  if (!/^\d+$/.test(s)) return s;
  const v = BigInt(s);
  const whole = v / 1000000n;
  const frac = (v % 1000000n).toString().padStart(6, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac} CHR` : `${whole} CHR`;
}

/** sleep resolves after ms milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** describeError turns anything thrown into a readable sentence. */
export function describeError(e) {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === "string") return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}
