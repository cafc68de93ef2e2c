// Type declarations of @chroom/client (hand-written; the package has no
// build step). Shapes follow the orchestrator's OpenAPI document
// (GET /v1/openapi.json) and the media node's signaling messages.

/** The orchestrator's answer to POST /v1/rooms/{room}/join. */
export interface Grant {
  token: string;
  room: string;
  identity: string;
  role: string;
  expires_at_unix?: number;
  media_node: { id: string; ws_url: string; whip_url?: string; whep_url?: string; ping_url?: string; region?: string };
}

export interface ClientKey {
  /** base64 raw Ed25519 public key, sent as the join's client_key */
  publicKey: string;
  privateKey: CryptoKey;
}

export interface Permissions {
  publish: boolean;
  screen: boolean;
  data: boolean;
  admin: boolean;
}

export interface TrackInfo {
  id: string;
  publisher: string;
  kind: "audio" | "video" | string;
  source: "microphone" | "camera" | "screen" | string;
  muted: boolean;
}

export interface ParticipantInfo {
  identity: string;
  name: string;
  role: string;
  joinedAtUnixMs: number;
  self: boolean;
  metadata: string;
  attributes: Record<string, string>;
}

export interface ParticipantView extends Omit<ParticipantInfo, never> {
  speaking: boolean;
  handRaised: boolean;
  tracks: Array<Omit<TrackInfo, "publisher">>;
}

export interface RemoteMedia {
  trackId: string;
  publisher: string;
  kind: string;
  source: string;
  muted: boolean;
  track: MediaStreamTrack;
}

/** One real-time text update (Room "rtt" event). */
export interface RttUpdate {
  from: string;
  name: string;
  /** what from is typing now */
  line: string;
  /** lines from finished with this update */
  done: string[];
  /** messages were lost before this one (the line shows U+FFFD) */
  gap: boolean;
  self?: boolean;
}

export interface RoomEventMap {
  update: CustomEvent<undefined>;
  local: CustomEvent<undefined>;
  chat: CustomEvent<{ from: string; name: string; text: string; at: number; self: boolean }>;
  rtt: CustomEvent<RttUpdate>;
  hand: CustomEvent<{ identity: string; up: boolean }>;
  /** from "" and server true: the app's server sent it (POST /v1/rooms/{room}/data) */
  data: CustomEvent<{ from: string; server: boolean; payload: unknown }>;
  file: CustomEvent<object>;
  notice: CustomEvent<{ message: string; error: boolean }>;
  connection: CustomEvent<{ state: RTCPeerConnectionState }>;
  ended: CustomEvent<{ reason: string; error: boolean }>;
}

/** A session in a room on a media node. */
export declare class Room extends EventTarget {
  constructor(opts: { grant: Grant & { clientKey?: ClientKey | null; receivedAt?: number }; name: string; media?: MediaStream | null; api: Orchestrator; audioOnly?: boolean });
  readonly room: string;
  identity: string;
  name: string;
  role: string;
  readonly perms: Permissions;
  /** the grant hides this session from the others (it may not publish) */
  readonly hidden: boolean;
  readonly participants: Map<string, ParticipantInfo>;
  readonly tracks: Map<string, TrackInfo>;
  readonly speakers: Set<string>;
  readonly reconnecting: boolean;
  closed: boolean;
  connectionState: RTCPeerConnectionState | "new";
  /** Connects to the media node; resolves when joined. Rejects with a StepError. */
  open(): Promise<void>;
  leave(): Promise<void>;
  leaveNow(): void;
  publishTrack(source: "camera" | "microphone", track: MediaStreamTrack): void;
  setMuted(source: "camera" | "microphone" | "screen", muted: boolean): boolean;
  localState(source: "camera" | "microphone" | "screen"): { active: boolean; muted: boolean };
  startScreenShare(): Promise<void>;
  stopScreenShare(): void;
  /** Receive (true) or stop receiving (false) the others' video. */
  setReceiveVideo(on: boolean): void;
  /** Simulcast layer 0 (low) … 2 (high) of a remote video track. */
  setLayer(trackId: string, layer: 0 | 1 | 2): void;
  remoteMedia(): RemoteMedia[];
  participantList(): ParticipantView[];
  displayName(identity: string): string;
  sendChat(text: string): Promise<{ from: string; name: string; text: string; at: number; self: true }>;
  sendFile(file: File): Promise<unknown>;
  /** Any JSON-serialisable value to everyone ("data" events), ≤ 60 KiB. */
  publishData(value: unknown): Promise<void>;
  /** The whole draft line as typed so far; only the edit is sent. */
  sendRealtimeText(draft: string, opts?: { endLine?: boolean }): Promise<void>;
  raiseHand(up?: boolean): Promise<void>;
  raisedHands(): string[];
  stats(): Promise<object | null>;
  framesDecoded(): Promise<number>;
  audioSamplesReceived(): Promise<number>;
  addEventListener<K extends keyof RoomEventMap>(type: K, listener: (ev: RoomEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

export declare class StepError extends Error {
  constructor(step: string, message: string);
  step: string;
}

export declare function permissionsOf(role: string): Permissions;
/** A grant's claims (the JWT payload), unverified; null if unreadable. */
export declare function grantClaims(token: string): Record<string, unknown> | null;
export declare const MAX_CHAT_CHARS: number;
export declare const MAX_FILE_BYTES: number;

export declare class ApiError extends Error {
  step: string;
  status: number;
  code: string;
}

/** Client of one orchestrator's /v1 API. */
export declare class Orchestrator {
  constructor(base?: string);
  base: string;
  placement(room: string): Promise<{ room: string; placed: boolean; nodes: Array<{ id: string; ping_url: string; region?: string }> }>;
  join(room: string, opts: { identity?: string; name?: string; role?: string; clientKey?: string; rttMs?: Record<string, number> | null; unreachableNode?: string }): Promise<Grant>;
  participants(room: string, token: string): Promise<object[]>;
  setRole(room: string, token: string, identity: string, role: string): Promise<unknown>;
  muteTrack(room: string, token: string, identity: string, trackId: string): Promise<unknown>;
  removeParticipant(room: string, token: string, identity: string): Promise<unknown>;
  endRoom(room: string, token: string): Promise<unknown>;
  node(id: string): Promise<object>;
}

export declare function connect(opts: {
  grant?: Grant;
  orchestrator?: string;
  room?: string;
  name?: string;
  role?: "participant" | "viewer" | "listener";
  media?: MediaStream | null;
  audioOnly?: boolean;
  clientKey?: ClientKey | null;
}): Promise<Room>;
export declare function measureNodes(orchestrator: Orchestrator, room: string): Promise<{ rtts: Record<string, number> | null; placement: { nodes: string[]; rtts: Record<string, number>; tookMs: number } | null }>;
export declare function pingNode(url: string, budgetMs?: number): Promise<number | null>;
export declare function newClientKey(): Promise<ClientKey | null>;
export declare function rates(prev: object | null, cur: object): object;
export declare const debugLog: { add(event: string, fields?: object): void; text(): string };
export declare function describeError(e: unknown): string;
export declare function formatBitrate(bps: number): string;
export declare function formatBytes(n: number): string;
export declare function formatUchr(amount: string | number): string;

// Pure parts.
export type RoomState = {
  identity: string;
  name: string;
  role: string;
  participants: Map<string, ParticipantInfo>;
  tracks: Map<string, TrackInfo>;
  goneTracks: Set<string>;
  speakers: Set<string>;
  speakerOrder: string[];
  hands: Map<string, number>;
};
export type Effect =
  | { type: "own_track_published" | "own_track_unpublished" | "own_track_muted"; track: TrackInfo }
  | { type: "role_changed"; from: string; to: string }
  | { type: "left"; identity: string };
export declare function newRoomState(identity: string, name?: string, role?: string): RoomState;
export declare function applyEvent(state: RoomState, msg: { type: string; [k: string]: unknown }): Effect[];
export declare function applyHand(state: RoomState, identity: string, up: boolean, at?: number): boolean;
export declare function participantList(state: RoomState): ParticipantView[];
export declare function raisedHands(state: RoomState): string[];

export declare class SignalError extends Error {}
export declare function decodeNodeMessage(text: string): { type: string; [k: string]: unknown };
export declare function decodeEnvelope(data: unknown): { from: string; payload: unknown; server: boolean } | null;
export declare function candidateInit(c: unknown): RTCIceCandidateInit | null;
export declare class Negotiation {
  failures: number;
  notBefore: number;
  canOffer(signalingState: RTCSignalingState): boolean;
  onNodeOffer(signalingState: RTCSignalingState): { rollback: boolean };
  onNodeAnswer(signalingState: RTCSignalingState): boolean;
  onRefused(now: number, rand?: () => number): { giveUp: boolean; retryAt: number };
  retryDelay(now: number): number;
}

export type RttMessage = { type: "rtt"; seq: number; t140: string } | { type: "rtt"; seq: 0; reset: true };
export declare class RttSender {
  seq: number;
  shown: string;
  update(draft: string): RttMessage | null;
  newLine(): RttMessage;
  reset(): RttMessage;
}
export declare class RttReceiver {
  line(from: string): string;
  forget(from: string): void;
  receive(from: string, msg: unknown): { line: string; done: string[]; gap: boolean } | null;
}
export declare function editFor(prev: string, next: string): string;
export declare function applyT140(line: string, t140: string): { line: string; done: string[] };
export declare const BS: string;
export declare const LINE_SEPARATOR: string;
export declare const MISSING: string;
