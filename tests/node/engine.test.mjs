// The npm package's Node entry, used the way a Node service or a test of the bank's would: import,
// load the bundles the native CLI signed earlier in this run, and read errors by their code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { Engine } from "../../pkg/node.js";

const fixtures = new URL("../../target/test-fixtures/", import.meta.url);
const keys = JSON.parse(readFileSync(new URL("keys.json", fixtures), "utf8"));
const sampleA = readFileSync(new URL("sample-a.opb", fixtures));
const trustA = { [keys.a.keyId]: keys.a.publicKey };
const now = new Date("2026-12-05T09:30:00Z");

test("loads a signed bundle and exposes what it is", () => {
  const engine = Engine.load(new Uint8Array(sampleA), { trustedKeys: trustA, now });
  assert.equal(engine.bundleId, "bank-nl-web");
  assert.equal(engine.version, 1);
  assert.equal(engine.keyId, keys.a.keyId);
  assert.equal(engine.propositionCount, 11);
  assert.equal(engine.notBefore, "2026-11-01T00:00:00Z");
  assert.equal(engine.expiresAt, "2027-06-01T00:00:00Z");
  assert.deepEqual(engine.placements, ["overview", "homepage", "app-home", "agent"]);
  engine.free();
});

test("a refused bundle throws an Error with a stable code", () => {
  const tampered = new Uint8Array(sampleA);
  tampered[tampered.length - 1] ^= 1;
  assert.throws(() => Engine.load(tampered, { trustedKeys: trustA, now }), (e) => {
    assert.ok(e instanceof Error);
    assert.equal(e.code, "bad_signature");
    assert.match(e.message, /signature does not verify/);
    return true;
  });
  assert.throws(() => Engine.load(new Uint8Array(sampleA), { trustedKeys: trustA, now, minVersion: 2 }),
    { code: "rollback" });
  assert.throws(() => Engine.load(new Uint8Array(sampleA), { trustedKeys: trustA, now: "2027-06-01T00:00:00Z" }),
    { code: "expired" });
  assert.throws(() => Engine.load("not bytes", { trustedKeys: trustA }), { code: "invalid_argument" });
});

test("the default time is the host's clock", () => {
  // The sample bundle is valid from 2026-11-01 to 2027-06-01: decide by the real date.
  const valid = Date.now() >= Date.parse("2026-11-01T00:00:00Z") && Date.now() < Date.parse("2027-06-01T00:00:00Z");
  const load = () => Engine.load(new Uint8Array(sampleA), { trustedKeys: trustA });
  if (valid) assert.equal(load().bundleId, "bank-nl-web");
  else assert.throws(load, (e) => ["not_yet_valid", "expired"].includes(e.code));
});
