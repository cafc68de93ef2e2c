// connect: the shortest way into a room. With a grant your backend
// obtained (POST /v1/rooms/{room}/join on the orchestrator with its API
// key), or anonymously through an orchestrator's public join — in which
// case it first measures the media nodes the orchestrator proposes, so a
// new room lands on the nearest one.

import { Orchestrator } from "./api.js";
import { Room } from "./room.js";

/** PLACEMENT_BUDGET_MS bounds how long measuring media nodes may delay a join. */
export const PLACEMENT_BUDGET_MS = 800;

/**
 * measureNodes asks the orchestrator which media nodes could host room and
 * times a few GET /ping to each. Returns {rtts: {nodeID: ms} | null,
 * placement: {nodes, rtts, tookMs} | null}: rtts null when there is
 * nothing to choose (the room is live, one node) or nothing measured.
 * @param {Orchestrator} orchestrator
 * @param {string} room
 */
export async function measureNodes(orchestrator, room) {
  let p;
  try {
    p = await orchestrator.placement(room);
  } catch {
    return { rtts: null, placement: null };
  }
  if (p.nodes.length < 2) return { rtts: null, placement: null };
  const started = performance.now();
  const times = await Promise.all(p.nodes.map((n) => pingNode(n.ping_url, PLACEMENT_BUDGET_MS).then((ms) => [n.id, ms])));
  const rtts = {};
  for (const [id, ms] of times) if (ms !== null) rtts[id] = Math.max(0.1, Math.round(ms * 10) / 10);
  const placement = { nodes: p.nodes.map((n) => n.id), rtts, tookMs: Math.round(performance.now() - started) };
  return { rtts: Object.keys(rtts).length ? rtts : null, placement };
}

/**
 * pingNode is the lowest round-trip time to a node's ping URL in ms over
 * up to four GETs within budgetMs, not counting the first (which sets up
 * the connection); null if none came back.
 */
export async function pingNode(url, budgetMs = PLACEMENT_BUDGET_MS) {
  if (typeof url !== "string" || !url) return null;
  const until = performance.now() + budgetMs;
  let best = null;
  for (let i = 0; i < 4 && performance.now() < until; i++) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), Math.max(1, until - performance.now()));
    const t0 = performance.now();
    try {
      await fetch(url, { cache: "no-store", mode: "cors", credentials: "omit", signal: ctl.signal });
    } catch {
      break; // unreachable, blocked (mixed content) or out of time
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - t0;
    if (i > 0 && (best === null || ms < best)) best = ms;
  }
  return best;
}

/**
 * connect joins a room and resolves to an open Room.
 *
 * @param {object} opts
 * @param {object} [opts.grant] a join answer from the orchestrator
 *   ({token, room, identity, role, media_node: {ws_url, …}}), e.g. from
 *   your backend; without it connect asks orchestrator for an anonymous
 *   grant to room
 * @param {string} [opts.orchestrator] the orchestrator's origin
 *   (default: this page's)
 * @param {string} [opts.room] the room, for an anonymous join
 * @param {string} [opts.name] display name
 * @param {"participant"|"viewer"|"listener"} [opts.role] for an anonymous join
 * @param {MediaStream|null} [opts.media] camera and microphone to publish
 * @param {boolean} [opts.audioOnly] send and receive no video
 * @param {{publicKey: string, privateKey: CryptoKey}|null} [opts.clientKey]
 *   the key the grant binds (newClientKey(); its publicKey went into the
 *   join as client_key), to sign usage statements
 * @returns {Promise<Room>}
 * @throws {ApiError|StepError} naming the step that failed
 */
export async function connect({ grant, orchestrator, room, name = "Guest", role, media = null, audioOnly = false, clientKey = null } = {}) {
  const api = new Orchestrator(orchestrator || globalThis.location?.origin);
  if (!grant) {
    if (!room) throw new TypeError("connect: give a grant, or a room to join anonymously");
    const { rtts } = await measureNodes(api, room);
    grant = await api.join(room, { name, role, clientKey: clientKey?.publicKey, rttMs: rtts });
  }
  grant = { ...grant, clientKey, receivedAt: performance.now() };
  // An audio space sends and receives audio only (the node enforces it).
  if (grant.room_options?.mode === "audio_space") audioOnly = true;
  const r = new Room({ grant, name, media, api, audioOnly });
  await r.open();
  return r;
}
