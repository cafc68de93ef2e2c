// The room as one participant sees it — participants, their tracks, who
// speaks, who raised a hand — kept from the media node's room events
// (medianode/signal/ws.go: participant_joined/updated/left,
// track_published/unpublished/muted, speakers) and the room's data
// messages (hand raises). Pure: applyEvent changes the state and returns
// the effects the caller must act on (its own track published, its role
// changed, …); no DOM, no network. Unit-tested under Node.

/**
 * @typedef {{identity: string, name: string, role: string, joinedAtUnixMs: number, self: boolean,
 *   metadata: string, attributes: Record<string,string>}} ParticipantInfo
 * @typedef {{id: string, publisher: string, kind: string, source: string, muted: boolean}} TrackInfo
 * @typedef {{type: "own_track_published", track: TrackInfo}
 *   | {type: "own_track_unpublished", track: TrackInfo}
 *   | {type: "own_track_muted", track: TrackInfo}
 *   | {type: "role_changed", from: string, to: string}
 *   | {type: "left", identity: string}} Effect
 */

/**
 * newRoomState is the state of a participant (identity, display name,
 * role) who has just joined: it knows only itself.
 */
export function newRoomState(identity, name = "", role = "participant") {
  return {
    identity,
    name,
    role,
    /** @type {Map<string, ParticipantInfo>} */
    participants: new Map(),
    /** @type {Map<string, TrackInfo>} published tracks by ID */
    tracks: new Map(),
    // Track IDs unpublished in this session: participant snapshots from
    // the node may still list them; they are never brought back.
    goneTracks: new Set(),
    /** @type {Set<string>} identities speaking now (loudest first in speakerOrder) */
    speakers: new Set(),
    speakerOrder: [],
    /** @type {Map<string, number>} identity → when its hand went up (ms) */
    hands: new Map(),
  };
}

/**
 * applyEvent applies one room event of the media node to state and
 * returns the effects (Effect[]) the caller acts on. Unknown or malformed
 * events change nothing.
 * @param {ReturnType<typeof newRoomState>} state
 * @param {{type: string, participant?: object, track?: object, speakers?: string[]}} msg
 * @returns {Effect[]}
 */
export function applyEvent(state, msg) {
  const fx = [];
  switch (msg?.type) {
    case "participant_joined":
    case "participant_updated":
      upsertParticipant(state, msg.participant, fx);
      break;
    case "participant_left": {
      const id = msg.participant?.identity;
      if (typeof id !== "string") break;
      state.participants.delete(id);
      for (const [tid, t] of state.tracks) if (t.publisher === id) state.tracks.delete(tid);
      state.speakers.delete(id);
      state.speakerOrder = state.speakerOrder.filter((s) => s !== id);
      state.hands.delete(id);
      fx.push({ type: "left", identity: id });
      break;
    }
    case "track_published":
      addTrack(state, msg.track, true, fx);
      break;
    case "track_unpublished":
      if (msg.track?.id) {
        const t = state.tracks.get(msg.track.id) || normTrack(msg.track);
        state.tracks.delete(msg.track.id);
        state.goneTracks.add(msg.track.id);
        if (t.publisher === state.identity) fx.push({ type: "own_track_unpublished", track: t });
      }
      break;
    case "track_muted": {
      const t = msg.track;
      if (!t?.id) break;
      const known = state.tracks.get(t.id);
      if (known) known.muted = !!t.muted;
      else addTrack(state, t, false, fx);
      if (t.publisher === state.identity) fx.push({ type: "own_track_muted", track: normTrack(t) });
      break;
    }
    case "speakers": {
      const list = Array.isArray(msg.speakers) ? msg.speakers.filter((s) => typeof s === "string") : [];
      state.speakerOrder = list;
      state.speakers = new Set(list);
      break;
    }
  }
  return fx;
}

/**
 * applyHand records a participant raising (up true) or lowering its hand
 * (a "hand" data message, or the host lowering it). at is when, in ms.
 * Returns whether anything changed. Hands of unknown participants are
 * ignored.
 */
export function applyHand(state, identity, up, at = Date.now()) {
  if (!state.participants.has(identity)) return false;
  if (up) {
    if (state.hands.has(identity)) return false;
    state.hands.set(identity, at);
    return true;
  }
  return state.hands.delete(identity);
}

/**
 * participantList is the room's participants with their tracks, whether
 * they speak and whether their hand is up: self first, then by join time.
 */
export function participantList(state) {
  const list = [...state.participants.values()].map((p) => ({
    identity: p.identity,
    name: p.name,
    role: p.role,
    self: p.self,
    joinedAtUnixMs: p.joinedAtUnixMs,
    metadata: p.metadata,
    attributes: p.attributes,
    speaking: state.speakers.has(p.identity),
    handRaised: state.hands.has(p.identity),
    tracks: [...state.tracks.values()].filter((t) => t.publisher === p.identity).map((t) => ({ id: t.id, kind: t.kind, source: t.source, muted: t.muted })),
  }));
  list.sort((a, b) => b.self - a.self || a.joinedAtUnixMs - b.joinedAtUnixMs || a.identity.localeCompare(b.identity));
  return list;
}

/** raisedHands lists the identities with a hand up, earliest first. */
export function raisedHands(state) {
  return [...state.hands.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).map(([id]) => id);
}

function normTrack(t) {
  return { id: t.id, publisher: t.publisher, kind: t.kind, source: t.source, muted: !!t.muted };
}

function addTrack(state, t, fresh, fx) {
  if (!t || !t.id || state.goneTracks.has(t.id)) return;
  const known = state.tracks.get(t.id);
  const info = normTrack(t);
  state.tracks.set(t.id, info);
  if (t.publisher !== state.identity || (known && !fresh)) return;
  fx.push({ type: "own_track_published", track: info });
}

function upsertParticipant(state, info, fx) {
  if (!info || typeof info.identity !== "string" || !info.identity) return;
  const self = info.identity === state.identity;
  const old = state.participants.get(info.identity);
  state.participants.set(info.identity, {
    identity: info.identity,
    name: info.name || old?.name || (self ? state.name : ""),
    role: info.role || old?.role || "participant",
    joinedAtUnixMs: info.joined_at_unix_ms || old?.joinedAtUnixMs || 0,
    self,
    // The node sends a participant whole: no metadata or attributes means
    // none (they were cleared).
    metadata: typeof info.metadata === "string" ? info.metadata : "",
    attributes: info.attributes && typeof info.attributes === "object" ? { ...info.attributes } : {},
  });
  if (Array.isArray(info.tracks)) {
    // The participant's tracks as of this event replace what we knew.
    for (const [id, t] of state.tracks) if (t.publisher === info.identity && !info.tracks.some((n) => n.id === id)) state.tracks.delete(id);
    for (const t of info.tracks) addTrack(state, { ...t, publisher: t.publisher || info.identity }, false, fx);
  }
  if (self && info.role && info.role !== state.role) {
    fx.push({ type: "role_changed", from: state.role, to: info.role });
    state.role = info.role;
  }
}
