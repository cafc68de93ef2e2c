import { test } from "node:test";
import assert from "node:assert/strict";
import { applyEvent, applyHand, newRoomState, participantList, raisedHands } from "../src/roomstate.js";

const joined = (identity, extra = {}) => ({ type: "participant_joined", participant: { identity, name: identity.toUpperCase(), role: "participant", ...extra } });

test("participants join, publish, mute and leave", () => {
  const s = newRoomState("me", "Me");
  applyEvent(s, joined("me", { joined_at_unix_ms: 1 }));
  applyEvent(s, joined("ann", { joined_at_unix_ms: 2 }));
  applyEvent(s, { type: "track_published", track: { id: "t1", publisher: "ann", kind: "video", source: "camera" } });
  applyEvent(s, { type: "track_muted", track: { id: "t1", publisher: "ann", muted: true } });
  applyEvent(s, { type: "speakers", speakers: ["ann"] });
  let list = participantList(s);
  assert.deepEqual(list.map((p) => p.identity), ["me", "ann"], "self first");
  assert.equal(list[0].name, "ME");
  assert.deepEqual(list[1].tracks, [{ id: "t1", kind: "video", source: "camera", muted: true }]);
  assert.equal(list[1].speaking, true);
  const fx = applyEvent(s, { type: "participant_left", participant: { identity: "ann" } });
  assert.deepEqual(fx, [{ type: "left", identity: "ann" }]);
  list = participantList(s);
  assert.deepEqual(list.map((p) => p.identity), ["me"]);
  assert.equal(s.tracks.size, 0, "a participant's tracks leave with it");
  assert.equal(s.speakers.size, 0);
});

test("an unpublished track never comes back from an older snapshot", () => {
  const s = newRoomState("me");
  applyEvent(s, joined("ann"));
  applyEvent(s, { type: "track_published", track: { id: "t1", publisher: "ann", kind: "audio", source: "microphone" } });
  applyEvent(s, { type: "track_unpublished", track: { id: "t1", publisher: "ann" } });
  applyEvent(s, { type: "participant_updated", participant: { identity: "ann", tracks: [{ id: "t1", kind: "audio" }] } });
  assert.equal(s.tracks.has("t1"), false);
});

test("a snapshot's track list replaces the participant's tracks", () => {
  const s = newRoomState("me");
  applyEvent(s, joined("ann", { tracks: [{ id: "a", kind: "audio" }, { id: "v", kind: "video" }] }));
  assert.equal(s.tracks.get("a").publisher, "ann", "a snapshot's tracks are the participant's");
  applyEvent(s, { type: "participant_updated", participant: { identity: "ann", tracks: [{ id: "a", kind: "audio" }] } });
  assert.deepEqual([...s.tracks.keys()], ["a"]);
});

test("own tracks and role changes come back as effects", () => {
  const s = newRoomState("me", "Me", "participant");
  assert.deepEqual(applyEvent(s, { type: "track_published", track: { id: "m", publisher: "me", kind: "audio", source: "microphone" } }),
    [{ type: "own_track_published", track: { id: "m", publisher: "me", kind: "audio", source: "microphone", muted: false } }]);
  assert.deepEqual(applyEvent(s, { type: "track_muted", track: { id: "m", publisher: "me", muted: true } }).map((f) => f.type), ["own_track_muted"]);
  assert.deepEqual(applyEvent(s, { type: "track_unpublished", track: { id: "m", publisher: "me" } }).map((f) => f.type), ["own_track_unpublished"]);
  assert.deepEqual(applyEvent(s, { type: "participant_updated", participant: { identity: "me", role: "viewer" } }),
    [{ type: "role_changed", from: "participant", to: "viewer" }]);
  assert.equal(s.role, "viewer");
  assert.deepEqual(applyEvent(s, { type: "participant_updated", participant: { identity: "me", role: "viewer" } }), [], "no change, no effect");
});

test("others' events have no effects; malformed events change nothing", () => {
  const s = newRoomState("me");
  assert.deepEqual(applyEvent(s, { type: "track_published", track: { id: "x", publisher: "ann" } }), []);
  for (const bad of [null, {}, { type: "participant_joined" }, { type: "participant_joined", participant: { identity: 5 } },
    { type: "track_published", track: {} }, { type: "speakers", speakers: "ann" }, { type: "nonsense" }]) {
    assert.deepEqual(applyEvent(s, bad), []);
  }
  assert.equal(s.participants.size, 0);
  assert.equal(s.speakers.size, 0);
});

test("hands go up in order and come down; strangers' hands are ignored", () => {
  const s = newRoomState("host");
  applyEvent(s, joined("host"));
  applyEvent(s, joined("ann"));
  applyEvent(s, joined("bo"));
  assert.equal(applyHand(s, "bo", true, 10), true);
  assert.equal(applyHand(s, "ann", true, 20), true);
  assert.equal(applyHand(s, "ann", true, 30), false, "already up");
  assert.equal(applyHand(s, "ghost", true, 5), false, "not in the room");
  assert.deepEqual(raisedHands(s), ["bo", "ann"]);
  assert.equal(participantList(s).find((p) => p.identity === "ann").handRaised, true);
  applyHand(s, "bo", false);
  assert.deepEqual(raisedHands(s), ["ann"]);
  applyEvent(s, { type: "participant_left", participant: { identity: "ann" } });
  assert.deepEqual(raisedHands(s), [], "a hand leaves with its participant");
});

test("metadata and attributes follow each update; omitted means cleared (the node sends participants whole)", () => {
  const s = newRoomState("me");
  applyEvent(s, joined("ann", { metadata: "{\"seat\":3}", attributes: { lang: "de" } }));
  let ann = participantList(s).find((p) => p.identity === "ann");
  assert.equal(ann.metadata, "{\"seat\":3}");
  assert.deepEqual(ann.attributes, { lang: "de" });
  applyEvent(s, { type: "participant_updated", participant: { identity: "ann", name: "Ann B", attributes: { lang: "fr" } } });
  ann = participantList(s).find((p) => p.identity === "ann");
  assert.equal(ann.name, "Ann B");
  assert.equal(ann.metadata, "", "cleared");
  assert.deepEqual(ann.attributes, { lang: "fr" });
});
