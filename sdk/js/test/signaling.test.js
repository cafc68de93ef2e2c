import { test } from "node:test";
import assert from "node:assert/strict";
import { candidateInit, decodeEnvelope, decodeNodeMessage, iceUfrag, MAX_OFFER_RETRIES, Negotiation, SignalError } from "../src/signaling.js";

test("node messages: well-formed ones decode, others say what is wrong", () => {
  assert.deepEqual(decodeNodeMessage('{"type":"offer","sdp":"v=0\\r\\n"}'), { type: "offer", sdp: "v=0\r\n" });
  assert.equal(decodeNodeMessage('{"type":"future_thing"}').type, "future_thing", "unknown types pass (a newer node)");
  const cases = [["{", /not JSON/], ["[1]", /not a JSON object/], ['{"sdp":"v=0"}', /no message type/],
    ['{"type":"answer","sdp":"hello"}', /answer without a session description/], ['{"type":"candidate"}', /candidate without a candidate/]];
  for (const [text, why] of cases) {
    assert.throws(() => decodeNodeMessage(text), (e) => e instanceof SignalError && why.test(e.message), text);
  }
});

test("candidates: end-of-candidates is none, a bare one is for the first section", () => {
  assert.equal(candidateInit({ candidate: "" }), null);
  assert.equal(candidateInit(null), null);
  assert.deepEqual(candidateInit({ candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host" }),
    { candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: null, sdpMLineIndex: 0 });
  assert.deepEqual(candidateInit({ candidate: "c", sdpMid: "0", usernameFragment: "u" }), { candidate: "c", sdpMid: "0", sdpMLineIndex: null, usernameFragment: "u" });
  assert.equal(iceUfrag("v=0\r\na=ice-ufrag:abcd\r\n"), "abcd");
  assert.equal(iceUfrag(undefined), undefined);
});

test("data envelopes: from and payload, anything else dropped", () => {
  assert.deepEqual(decodeEnvelope('{"from":"ann","payload":{"type":"chat","text":"hi"}}'), { from: "ann", payload: { type: "chat", text: "hi" }, server: false });
  assert.deepEqual(decodeEnvelope('{"from":"","server":true,"payload":{"alert":1}}'), { from: "", payload: { alert: 1 }, server: true }, "the app's server");
  for (const bad of ["nope", '{"payload":1}', '{"from":""}', "null", 5]) assert.equal(decodeEnvelope(bad), null, String(bad));
});

test("negotiation: offers only from stable; glare rolls ours back; stray answers are ignored", () => {
  const n = new Negotiation();
  assert.equal(n.canOffer("stable"), true);
  assert.equal(n.canOffer("have-local-offer"), false);
  assert.equal(n.canOffer("have-remote-offer"), false);
  assert.deepEqual(n.onNodeOffer("have-local-offer"), { rollback: true });
  assert.deepEqual(n.onNodeOffer("stable"), { rollback: false });
  assert.equal(n.onNodeAnswer("stable"), false);
  assert.equal(n.onNodeAnswer("have-local-offer"), true);
});

test("negotiation: refused offers back off 150 ms doubling to 3 s, then give up; an answer resets", () => {
  const n = new Negotiation();
  const mid = () => 0.5; // no jitter
  const delays = [];
  for (let i = 0; i < MAX_OFFER_RETRIES; i++) {
    const r = n.onRefused(1000, mid);
    assert.equal(r.giveUp, false);
    delays.push(r.retryAt - 1000);
  }
  assert.deepEqual(delays, [150, 300, 600, 1200, 2400, 3000, 3000, 3000]);
  assert.equal(n.retryDelay(1100), 2900);
  assert.equal(n.onRefused(1000, mid).giveUp, true);
  assert.equal(n.canOffer("stable"), false, "no more offers after giving up");
  n.onNodeAnswer("have-local-offer");
  assert.equal(n.canOffer("stable"), true);
  assert.equal(n.retryDelay(0), 0);
  const lo = new Negotiation().onRefused(0, () => 0).retryAt;
  const hi = new Negotiation().onRefused(0, () => 0.999).retryAt;
  assert.ok(lo >= 112 && hi <= 188, `jitter ±25 %: ${lo}, ${hi}`);
});
