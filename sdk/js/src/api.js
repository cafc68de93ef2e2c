// Orchestrator HTTP API client (DESIGN.md §3). Every failure becomes an
// ApiError whose message names the step, the server's error message and
// code, and the HTTP status.

/** ApiError is a failed orchestrator request. */
export class ApiError extends Error {
  constructor(step, message, { status = 0, code = "" } = {}) {
    super(message);
    this.name = "ApiError";
    this.step = step;
    this.status = status;
    this.code = code;
  }
}

const enc = encodeURIComponent;

/** Orchestrator calls the /v1 API of one orchestrator. */
export class Orchestrator {
  /** @param {string} base origin of the orchestrator, this page's by default */
  constructor(base = location.origin) {
    this.base = base;
  }

  async #request(step, method, path, { token, body, keepalive = false } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    let res;
    try {
      // redirect: "follow" re-sends the method and body on a 307 (a room
      // owned by another orchestrator).
      res = await fetch(new URL(path, this.base), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: "follow",
        cache: "no-store",
        keepalive,
      });
    } catch (e) {
      throw new ApiError(step, `${step} failed: cannot reach the orchestrator at ${this.base} (${e.message})`);
    }
    const text = await res.text().catch(() => "");
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const err = data && typeof data.error === "object" ? data.error : null;
      const why = err?.message || (typeof data?.error === "string" ? data.error : "") || text.trim().slice(0, 200) || res.statusText || "request failed";
      const code = err?.code ? `, ${err.code}` : "";
      throw new ApiError(step, `${step} failed: ${why} (HTTP ${res.status}${code})`, { status: res.status, code: err?.code || "" });
    }
    if (text && data === null) {
      throw new ApiError(step, `${step} failed: the orchestrator's answer is not JSON`, { status: res.status });
    }
    return { data: data ?? {}, url: res.url };
  }

  /**
   * placement asks which media nodes to measure before joining room:
   * {room, placed, nodes: [{id, ping_url, region, …}]}; placed is true when
   * the room already lives on the one node named.
   */
  async placement(room) {
    const { data } = await this.#request("Finding media nodes", "GET", `/v1/rooms/${enc(room)}/placement`);
    if (!Array.isArray(data.nodes)) {
      throw new ApiError("Finding media nodes", "Finding media nodes failed: the orchestrator's answer has no node list");
    }
    return data;
  }

  /**
   * join asks for a join grant: {token, room, role, identity,
   * expires_at_unix, media_node: {id, ws_url, whip_url, whep_url, ping_url, region}}.
   * rttMs ({nodeID: ms}, from placement and pingNode) places a new room on
   * the nearest node.
   * After a redirect, this client keeps talking to the orchestrator that
   * answered, the room's owner.
   */
  async join(room, { identity, name, role, clientKey, rttMs, unreachableNode }) {
    const body = { name };
    if (identity) body.identity = identity; // apps with an API key only
    if (role) body.role = role;
    if (clientKey) body.client_key = clientKey; // attestation: the grant binds it (cnf)
    if (rttMs && Object.keys(rttMs).length) body.rtt_ms = rttMs; // a new room goes to the nearest node
    if (unreachableNode) body.unreachable_node = unreachableNode; // joining again after the room's node stopped answering
    const { data, url } = await this.#request("Joining the room", "POST", `/v1/rooms/${enc(room)}/join`, { body });
    if (typeof data.token !== "string" || !data.token) {
      throw new ApiError("Joining the room", "Joining the room failed: the orchestrator's answer has no token");
    }
    if (!data.media_node || typeof data.media_node.ws_url !== "string" || !data.media_node.ws_url) {
      throw new ApiError("Joining the room", "Joining the room failed: the orchestrator's answer names no media node WebSocket URL");
    }
    if (url) {
      try {
        this.base = new URL(url).origin;
      } catch {
        // keep the base
      }
    }
    return data;
  }

  /**
   * reportStats posts the client's usage totals since joining (stats.js
   * Totals): bytes_received, frames_decoded, packets_received,
   * packets_lost, bytes_sent, audio_samples. statement ({seq, elapsed_ms,
   * signature}) makes it a signed usage statement over those figures
   * (attest.js signStatement).
   */
  reportStats(
    room,
    token,
    { bytesReceived, framesDecoded, packetsReceived, packetsLost, bytesSent, audioSamples },
    { keepalive = false, statement = null } = {},
  ) {
    return this.#request("Reporting statistics", "POST", `/v1/rooms/${enc(room)}/stats`, {
      token,
      keepalive,
      body: {
        bytes_received: bytesReceived,
        frames_decoded: framesDecoded,
        packets_received: packetsReceived,
        packets_lost: packetsLost,
        bytes_sent: bytesSent,
        audio_samples: audioSamples,
        ...(statement || {}),
      },
    });
  }

  /** participants lists the room's participants (host only). */
  async participants(room, token) {
    const { data } = await this.#request("Listing participants", "GET", `/v1/rooms/${enc(room)}/participants`, { token });
    return Array.isArray(data.participants) ? data.participants : [];
  }

  /** setRole changes a participant's role (host only). */
  setRole(room, token, identity, role) {
    return this.#request(`Changing the role of ${identity}`, "POST", `/v1/rooms/${enc(room)}/participants/${enc(identity)}/role`, { token, body: { role } });
  }

  /** muteTrack mutes one of a participant's tracks (host only). */
  muteTrack(room, token, identity, trackId) {
    return this.#request(`Muting a track of ${identity}`, "POST", `/v1/rooms/${enc(room)}/participants/${enc(identity)}/mute`, {
      token,
      body: { track_id: trackId, muted: true },
    });
  }

  /** removeParticipant removes a participant from the room (host only). */
  removeParticipant(room, token, identity) {
    return this.#request(`Removing ${identity}`, "DELETE", `/v1/rooms/${enc(room)}/participants/${enc(identity)}`, { token });
  }

  /** endRoom ends the room for everyone (host only). */
  endRoom(room, token) {
    return this.#request("Ending the room", "DELETE", `/v1/rooms/${enc(room)}`, { token });
  }

  /** node describes a registered node: {id, moniker, region, status, operator, quality_score, claimable_rewards}. */
  async node(id) {
    const { data } = await this.#request("Loading the node's rewards", "GET", `/v1/nodes/${enc(id)}`);
    return data;
  }
}
