import { test } from "node:test";
import assert from "node:assert/strict";
import * as sdk from "../index.js";

test("the package's entry point loads outside a browser and exports the API its types declare", async () => {
  const { readFile } = await import("node:fs/promises");
  const dts = await readFile(new URL("../index.d.ts", import.meta.url), "utf8");
  const declared = [...dts.matchAll(/^export (?:declare )?(?:class|function|const|interface|type) (\w+)/gm)].map((m) => m[1]);
  for (const name of Object.keys(sdk)) assert.ok(declared.includes(name), `${name} is exported by index.js but not declared in index.d.ts`);
  for (const name of ["Room", "connect", "Orchestrator", "RttSender", "RttReceiver", "applyEvent", "Negotiation"]) assert.ok(name in sdk, name);
});

test("grantClaims reads a grant's payload and tolerates garbage", () => {
  const payload = Buffer.from(JSON.stringify({ sub: "app:eve", hidden: true, room: "r" })).toString("base64url");
  assert.deepEqual(sdk.grantClaims(`eyJhbGciOiJFZERTQSJ9.${payload}.sig`), { sub: "app:eve", hidden: true, room: "r" });
  for (const bad of ["", "a.b.c", null, undefined, "only-one-part"]) assert.equal(sdk.grantClaims(bad), null, String(bad));
});
