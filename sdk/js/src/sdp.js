// Just enough SDP parsing to tell which remote track arrives on which
// transceiver: browsers do not keep the sender's track ID (Firefox makes up
// its own), but the m-section's a=msid line carries it (RFC 8830).

/**
 * parseSections returns one entry per m-section of sdp:
 * {kind, port, mid, direction, streamId, trackId, simulcast}. direction is
 * as written by the side that made the description; simulcast is the
 * a=simulcast value (RFC 8853 §5.1, e.g. "send q;h;~f", "~" paused) or null.
 */
export function parseSections(sdp) {
  const sections = [];
  let cur = null;
  for (const raw of String(sdp || "").split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      const parts = line.slice(2).split(" ");
      cur = { kind: parts[0], port: Number(parts[1]), mid: null, direction: "sendrecv", streamId: null, trackId: null, simulcast: null };
      sections.push(cur);
    } else if (!cur) {
      continue;
    } else if (line.startsWith("a=mid:")) {
      cur.mid = line.slice(6);
    } else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
      cur.direction = line.slice(2);
    } else if (line.startsWith("a=simulcast:")) {
      cur.simulcast = line.slice(12);
    } else if (line.startsWith("a=msid:")) {
      const [streamId, trackId] = line.slice(7).split(" ");
      cur.streamId = streamId || null;
      cur.trackId = trackId || null;
    } else if (!cur.trackId && /^a=ssrc:\d+ msid:/.test(line)) {
      // Older form, a=ssrc:<ssrc> msid:<stream> <track>.
      const [streamId, trackId] = line.replace(/^a=ssrc:\d+ msid:/, "").split(" ");
      cur.streamId = streamId || null;
      cur.trackId = trackId || null;
    }
  }
  return sections;
}
