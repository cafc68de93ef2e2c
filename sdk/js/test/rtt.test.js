import { test } from "node:test";
import assert from "node:assert/strict";
import { applyT140, BS, editFor, isRttMessage, LINE_SEPARATOR, MISSING, RttReceiver, RttSender } from "../src/rtt.js";

test("editFor sends only new characters at the end", () => {
  assert.equal(editFor("", "h"), "h");
  assert.equal(editFor("h", "hel"), "el");
  assert.equal(editFor("hello", "hello"), "");
});

test("editFor corrects in the middle with backspaces and the rest retyped", () => {
  // "helo world" → "hello world": erase back to the fix, type the rest
  assert.equal(editFor("helo world", "hello world"), BS.repeat(7) + "lo world");
  assert.equal(editFor("abc", ""), BS.repeat(3));
});

test("editFor counts an emoji as one character to erase", () => {
  assert.equal(editFor("hi 👋", "hi "), BS);
  assert.equal(applyT140("hi 👋", BS).line, "hi ");
});

test("applyT140 types, erases and ends lines", () => {
  assert.deepEqual(applyT140("", "hex" + BS + "llo"), { line: "hello", done: [] });
  assert.deepEqual(applyT140("hello", LINE_SEPARATOR + "next"), { line: "next", done: ["hello"] });
  assert.deepEqual(applyT140("a", "\r\nb\nc"), { line: "c", done: ["a", "b"] });
  assert.deepEqual(applyT140("", BS + BS), { line: "", done: [] }, "a backspace on an empty line does nothing");
  assert.deepEqual(applyT140("", "\uFEFFa\u0007b"), { line: "ab", done: [] }, "BOM and bells are not text");
});

test("sender and receiver agree through typing, corrections and lines", () => {
  const tx = new RttSender();
  const rx = new RttReceiver();
  const shown = [];
  for (const draft of ["H", "He", "Hel", "Helo", "Hel", "Hell", "Hello", "Hello wrold", "Hello world"]) {
    const m = tx.update(draft);
    assert.ok(m, `a message for ${JSON.stringify(draft)}`);
    assert.ok(isRttMessage(m));
    shown.push(rx.receive("ann", JSON.parse(JSON.stringify(m))).line);
  }
  assert.deepEqual(shown, ["H", "He", "Hel", "Helo", "Hel", "Hell", "Hello", "Hello wrold", "Hello world"]);
  assert.equal(tx.update("Hello world"), null, "nothing changed, nothing sent");
  const r = rx.receive("ann", tx.newLine());
  assert.deepEqual(r, { line: "", done: ["Hello world"], gap: false });
  assert.equal(rx.line("ann"), "");
});

test("a lost message is marked, a duplicate ignored", () => {
  const tx = new RttSender();
  const rx = new RttReceiver();
  rx.receive("bo", tx.update("ab"));
  tx.update("abcd"); // lost
  const r = rx.receive("bo", tx.update("abcde"));
  assert.equal(r.gap, true);
  assert.equal(r.line, "ab" + MISSING + "e");
  const again = { type: "rtt", seq: 1, t140: "zz" };
  assert.equal(rx.receive("bo", again), null, "seq already seen");
});

test("joining mid-line is not a gap; reset starts over", () => {
  const tx = new RttSender();
  tx.update("abc");
  const rx = new RttReceiver();
  const r = rx.receive("cy", tx.update("abcd"));
  assert.deepEqual(r, { line: "d", done: [], gap: false });
  assert.deepEqual(rx.receive("cy", tx.reset()), { line: "", done: [], gap: false });
  assert.equal(rx.receive("cy", tx.update("x")).line, "x");
});

test("malformed rtt messages are refused", () => {
  const rx = new RttReceiver();
  for (const bad of [null, {}, { type: "rtt" }, { type: "rtt", seq: -1, t140: "a" }, { type: "rtt", seq: 1.5, t140: "a" },
    { type: "rtt", seq: 1, t140: 5 }, { type: "rtt", seq: 1, t140: "x".repeat(5000) }, { type: "rtt", seq: 3, reset: true }, { type: "chat", seq: 1, t140: "a" }]) {
    assert.equal(isRttMessage(bad), false, JSON.stringify(bad)?.slice(0, 60));
    assert.equal(rx.receive("x", bad), null);
  }
});

test("a draft with newlines is sent as one line", () => {
  const tx = new RttSender();
  assert.equal(tx.update("a\nb").t140, "a b");
});
