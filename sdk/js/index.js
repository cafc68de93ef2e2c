// @chroom/client — the JavaScript client of the Chroom network: join a
// room with a grant from an orchestrator, publish camera, microphone and
// screen, receive the others, send data, files and real-time text, and
// follow the room's participants, tracks, speakers and raised hands.
// ES modules, no dependencies, no build step: import it from a CDN, from
// the orchestrator that serves it at /sdk/index.js, or from npm.

export { Room, StepError, permissionsOf, grantClaims, MAX_CHAT_CHARS } from "./src/room.js";
export { Orchestrator, ApiError } from "./src/api.js";
export { newClientKey } from "./src/attest.js";
export { MAX_FILE_BYTES } from "./src/files.js";
export { rates } from "./src/stats.js";
export { debugLog } from "./src/debuglog.js";
export { describeError, formatBitrate, formatBytes, formatUchr } from "./src/util.js";
export { newRoomState, applyEvent, applyHand, participantList, raisedHands } from "./src/roomstate.js";
export { decodeNodeMessage, decodeEnvelope, candidateInit, Negotiation, SignalError } from "./src/signaling.js";
export { RttSender, RttReceiver, editFor, applyT140, BS, LINE_SEPARATOR, MISSING } from "./src/rtt.js";
export { connect, measureNodes, pingNode } from "./src/connect.js";
