// WebRTC statistics (W3C webrtc-stats) summed over a PeerConnection.

const COUNTERS = ["bytesReceived", "packetsReceived", "packetsLost", "framesDecoded", "bytesSent", "audioSamples"];

/**
 * Totals keeps session totals that never go down: getStats() forgets the
 * RTP streams of stopped transceivers (their last figures stay counted),
 * and a restarted stream — a counter other than packetsLost went down —
 * counts from zero again on top of what it had. packetsLost may
 * legitimately dip (late packets); a stream's figures keep the max seen.
 */
export class Totals {
  constructor() {
    this.last = new Map(); // stats ID → counters last seen (max since the stream's last restart)
    this.retired = Object.fromEntries(COUNTERS.map((k) => [k, 0]));
  }

  update(id, counters) {
    const prev = this.last.get(id);
    if (!prev) {
      this.last.set(id, { ...counters });
      return;
    }
    const restarted = COUNTERS.some((k) => k !== "packetsLost" && (counters[k] ?? 0) < (prev[k] ?? 0));
    if (restarted) {
      for (const k of COUNTERS) this.retired[k] += prev[k] ?? 0;
      this.last.set(id, { ...counters });
      return;
    }
    const next = {};
    for (const k of COUNTERS) next[k] = Math.max(counters[k] ?? 0, prev[k] ?? 0);
    this.last.set(id, next);
  }

  sum(k) {
    let n = this.retired[k];
    for (const c of this.last.values()) n += c[k] ?? 0;
    return n;
  }
}

/**
 * collectStats returns totals from pc.getStats(): {at (ms), bytesReceived,
 * bytesSent, packetsReceived, packetsLost, framesDecoded, audioSamples,
 * rttMs (null if unknown), localCandidateType, remoteCandidateType,
 * localProtocol ("udp" | "tcp"), relayProtocol (how a relay candidate
 * reaches the TURN server: "udp" | "tcp" | "tls"), remoteOutLoss}. Sums over the RTP streams (W3C webrtc-stats):
 * bytesReceived, packetsReceived, packetsLost (negatives count as 0) over
 * inbound-rtp; framesDecoded over video and audioSamples
 * (totalSamplesReceived) over audio inbound-rtp; bytesSent over
 * outbound-rtp. With totals, the counters are session totals (see Totals).
 */
export async function collectStats(pc, totals = new Totals()) {
  const report = await pc.getStats();
  const s = {
    at: performance.now(), bytesReceived: 0, bytesSent: 0, packetsReceived: 0, packetsLost: 0, framesDecoded: 0,
    audioSamples: 0, rttMs: null, localCandidateType: null, remoteCandidateType: null, localProtocol: null, relayProtocol: null, remoteOutLoss: null,
  };
  let selectedPairId = null;
  const pairs = [];
  let remoteLossSum = 0;
  let remoteLossCount = 0;
  report.forEach((r) => {
    switch (r.type) {
      case "inbound-rtp":
        totals.update(r.id, {
          bytesReceived: r.bytesReceived || 0,
          packetsReceived: r.packetsReceived || 0,
          packetsLost: Math.max(0, r.packetsLost || 0),
          framesDecoded: r.kind === "video" ? r.framesDecoded || 0 : 0,
          audioSamples: r.kind === "audio" ? r.totalSamplesReceived || 0 : 0,
        });
        break;
      case "outbound-rtp":
        totals.update(r.id, { bytesSent: r.bytesSent || 0 });
        break;
      case "remote-inbound-rtp":
        if (typeof r.fractionLost === "number") {
          remoteLossSum += r.fractionLost;
          remoteLossCount++;
        }
        break;
      case "transport":
        if (r.selectedCandidatePairId) selectedPairId = r.selectedCandidatePairId;
        break;
      case "candidate-pair":
        pairs.push(r);
        break;
    }
  });
  const pair = (selectedPairId && report.get(selectedPairId)) || pairs.find((p) => p.selected) || pairs.find((p) => p.nominated && p.state === "succeeded");
  if (pair) {
    if (typeof pair.currentRoundTripTime === "number") s.rttMs = pair.currentRoundTripTime * 1000;
    const local = report.get(pair.localCandidateId);
    const remote = report.get(pair.remoteCandidateId);
    s.localCandidateType = local?.candidateType ?? null;
    s.remoteCandidateType = remote?.candidateType ?? null;
    s.localProtocol = local?.protocol ?? null;
    s.relayProtocol = local?.relayProtocol ?? null;
  }
  if (remoteLossCount > 0) s.remoteOutLoss = remoteLossSum / remoteLossCount;
  for (const k of COUNTERS) s[k] = totals.sum(k);
  return s;
}

/**
 * rates compares two samples: {inBps, outBps, lossPct} over the interval
 * (lossPct: share of inbound packets lost, null if none expected).
 * Counters that went down (a track ended) count as zero.
 */
export function rates(prev, cur) {
  if (!prev) return { inBps: null, outBps: null, lossPct: null };
  const secs = (cur.at - prev.at) / 1000;
  if (secs <= 0) return { inBps: null, outBps: null, lossPct: null };
  const d = (a, b) => Math.max(0, a - b);
  const lost = d(cur.packetsLost, prev.packetsLost);
  const recv = d(cur.packetsReceived, prev.packetsReceived);
  return {
    inBps: (d(cur.bytesReceived, prev.bytesReceived) * 8) / secs,
    outBps: (d(cur.bytesSent, prev.bytesSent) * 8) / secs,
    lossPct: lost + recv > 0 ? (100 * lost) / (lost + recv) : null,
  };
}
