// WebRTC statistics (W3C webrtc-stats) summed over a PeerConnection.

const COUNTERS = ["bytesReceived", "packetsReceived", "packetsLost", "framesDecoded", "bytesSent"];

/**
 * Totals keeps session totals that never go down: getStats() forgets the
 * RTP streams of stopped transceivers, and a restarted stream counts from
 * zero again.
 */
export class Totals {
  constructor() {
    this.last = new Map(); // stats ID → counters last seen
    this.retired = Object.fromEntries(COUNTERS.map((k) => [k, 0]));
  }

  update(id, counters) {
    const prev = this.last.get(id);
    if (prev) for (const k of COUNTERS) if ((counters[k] ?? 0) < (prev[k] ?? 0)) this.retired[k] += prev[k];
    this.last.set(id, counters);
  }

  sum(k) {
    let n = this.retired[k];
    for (const c of this.last.values()) n += c[k] ?? 0;
    return n;
  }
}

/**
 * collectStats returns totals from pc.getStats(): {at (ms), bytesReceived,
 * bytesSent, packetsReceived, packetsLost, framesDecoded, rttMs (null if
 * unknown), localCandidateType, remoteCandidateType, remoteOutLoss}. With
 * totals, the counters are session totals (see Totals).
 */
export async function collectStats(pc, totals = new Totals()) {
  const report = await pc.getStats();
  const s = {
    at: performance.now(), bytesReceived: 0, bytesSent: 0, packetsReceived: 0, packetsLost: 0, framesDecoded: 0,
    rttMs: null, localCandidateType: null, remoteCandidateType: null, remoteOutLoss: null,
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
