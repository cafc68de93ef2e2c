// Client attestation (issue "proof of resource"): a per-join Ed25519 key
// made with WebCrypto; the orchestrator binds its public key into the join
// grant (cnf, RFC 7800), and every usage report the client posts is a
// statement signed with it — grant ID, sequence number, elapsed ms since
// the grant, bytes received, frames decoded, packets received, packets
// lost, bytes sent, audio samples (format.UsageStatement) — so
// the orchestrator credits the media node no more session time than the
// client itself attests. Browsers without Ed25519 in WebCrypto join
// unattested.

import { bytesToBase64 } from "./util.js";

function b64url(bytes) {
  return bytesToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * newClientKey returns {privateKey: CryptoKey, publicKey: base64url of the
 * 32-byte key}, or null when this browser cannot make Ed25519 keys.
 */
export async function newClientKey() {
  try {
    const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", kp.publicKey));
    return { privateKey: kp.privateKey, publicKey: b64url(raw) };
  } catch (e) {
    console.warn("chroom: this browser has no Ed25519 in WebCrypto; the session is not attested", e);
    return null;
  }
}

/** grantId returns the jti of a join grant (a JWT), or "" if unreadable. */
export function grantId(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "===".slice((part.length + 3) % 4))).jti || "";
  } catch {
    return "";
  }
}

/** STATEMENT_FIGURES are the signed figures, in signing order. */
const STATEMENT_FIGURES = [
  "seq", "elapsedMs", "bytesReceived", "framesDecoded", "packetsReceived", "packetsLost", "bytesSent", "audioSamples",
];

/**
 * signStatement signs a usage statement and returns the signature in
 * base64url. Signed bytes (format.UsageStatement.SignBytes):
 * "chroom/usage-statement/v1" 0x00 chainId 0x00 grantId 0x00, then
 * seq, elapsedMs, bytesReceived, framesDecoded, packetsReceived,
 * packetsLost, bytesSent, audioSamples as big-endian uint64 (missing or
 * negative figures sign as 0). The figures are session totals since
 * joining (stats.js Totals).
 */
export async function signStatement(privateKey, chainId, grant, figures) {
  const prefix = new TextEncoder().encode(`chroom/usage-statement/v1\0${chainId}\0${grant}\0`);
  const buf = new Uint8Array(prefix.length + 8 * STATEMENT_FIGURES.length);
  buf.set(prefix);
  const dv = new DataView(buf.buffer);
  STATEMENT_FIGURES.forEach((k, i) => {
    dv.setBigUint64(prefix.length + 8 * i, BigInt(Math.max(0, Math.floor(figures[k] || 0))));
  });
  return b64url(new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, buf)));
}
