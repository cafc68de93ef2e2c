// WebRTC statistics (W3C webrtc-stats) summed over a PeerConnection.

/**
 * collectStats returns totals from pc.getStats(): {at (ms), bytesReceived,
 * bytesSent, packetsReceived, packetsLost, framesDecoded, rttMs (null if
 * unknown), localCandidateType, remoteCandidateType}.
 */
export async function collectStats(pc) {
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
        s.bytesReceived += r.bytesReceived || 0;
        s.packetsReceived += r.packetsReceived || 0;
        s.packetsLost += Math.max(0, r.packetsLost || 0);
        if (r.kind === "video") s.framesDecoded += r.framesDecoded || 0;
        break;
      case "outbound-rtp":
        s.bytesSent += r.bytesSent || 0;
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
