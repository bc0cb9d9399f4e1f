// Availability overlays through the npm package in Node: applied on top of a loaded bundle, a
// sold-out deal is gone at the next decision with its trace entry; every refusal has its code and
// leaves the overlay in use; an expired one falls back to the catalogue with a warning; after a
// trap, the fresh instance carries the overlay on. The overlays were signed by the native CLI
// earlier in this run (./build.sh fixtures), valid 2026-12-05T09:00Z for a day.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { Engine } from "../../pkg/node.js";
import { fixtures, keys, root } from "../personas.mjs";

const read = (name) => new Uint8Array(readFileSync(join(fixtures, name)));
const trustA = { [keys.a.keyId]: keys.a.publicKey };
const NOW = "2026-12-05T09:30:00Z";
const student = JSON.parse(readFileSync(join(root, "tests/personas/student.json"), "utf8")).profile;
const load = () => Engine.load(read("sample-a.opb"), { trustedKeys: trustA, now: NOW });
const overview = (engine, now = NOW) =>
  engine.decide({ placement: "overview", profile: student, context: { page: "/overzicht" }, now, trace: true });
const shown = (d) => d.slots.map((s) => s.proposition);

test("a sold-out deal is gone at the next decision, and the trace says sold_out", () => {
  const engine = load();
  const before = overview(engine);
  assert.deepEqual(shown(before), ["student-13th-month", "rijksmuseum", "phishing-tips"]);
  const museum = before.slots.find((s) => s.proposition === "rijksmuseum");
  assert.deepEqual(museum.loyalty, { partner: "Rijksmuseum", discountPercent: 50, remaining: 500, lowStock: false });
  assert.equal(engine.overlay, null);

  const summary = engine.applyOverlay(read("sold-out-a.opa"), { now: NOW });
  assert.deepEqual(summary, {
    bundleId: "bank-nl-web", sequence: 2, issuedAt: "2026-12-05T09:00:00Z", notBefore: "2026-12-05T09:00:00Z",
    expiresAt: "2026-12-06T09:00:00Z", propositions: 1, unknownPropositions: [],
  });
  assert.deepEqual(engine.overlay, summary);
  const after = overview(engine);
  assert.ok(!shown(after).includes("rijksmuseum"), shown(after).join());
  const entry = after.trace.find((t) => t.proposition === "rijksmuseum");
  assert.deepEqual([entry.stage, entry.rule, entry.detail], ["select", "sold_out", "sold out (availability overlay 2)"]);
  assert.equal(after.overlaySequence, 2);
  assert.deepEqual(after.warnings, []);
  engine.free();
});

test("a paused proposition has its own trace entry with the reason", () => {
  const engine = load();
  engine.applyOverlay(read("paused-a.opa"), { now: NOW });
  const d = overview(engine);
  const entry = d.trace.find((t) => t.proposition === "rijksmuseum");
  assert.deepEqual([entry.rule, entry.detail], ["paused", "paused by availability overlay 3: wrong discount in the text"]);
  engine.free();
});

test("every refusal has its code, and the overlay in use stays", () => {
  const engine = load();
  engine.applyOverlay(read("paused-a.opa"), { now: NOW }); // sequence 3
  const refused = (bytes, code, options = { now: NOW }) => assert.throws(() => engine.applyOverlay(bytes, options), (e) => {
    assert.equal(e.name, "OpmaatError");
    assert.equal(e.code, code, e.message);
    return true;
  });
  refused(read("sold-out-a.opa"), "rollback"); // sequence 2 after 3
  const tampered = read("paused-a.opa");
  tampered[tampered.length - 1] ^= 1;
  refused(tampered, "bad_signature");
  refused(read("sample-a.opb"), "bad_magic");
  refused(read("paused-a.opa"), "expired", { now: "2026-12-06T09:00:00Z" });
  refused(read("paused-a.opa"), "not_yet_valid", { now: "2026-12-05T08:59:59Z" });
  refused(new Uint8Array([...read("paused-a.opa"), 0]), "trailing_bytes");
  refused("not bytes", "invalid_argument");
  refused(read("paused-a.opa"), "invalid_argument", { now: NOW, nwo: 1 });
  assert.equal(engine.overlay.sequence, 3);
  assert.equal(overview(engine).trace.find((t) => t.proposition === "rijksmuseum").rule, "paused");
  // The same overlay again is a revalidation, not a rollback.
  assert.equal(engine.applyOverlay(read("paused-a.opa"), { now: NOW }).sequence, 3);
  // Signed by a key the engine does not trust for bundles.
  const other = Engine.load(read("sample-b.opb"), { trustedKeys: { [keys.b.keyId]: keys.b.publicKey }, now: NOW });
  assert.throws(() => other.applyOverlay(read("paused-a.opa"), { now: NOW }), { code: "unknown_key" });
  other.free();
  engine.free();
});

test("an expired overlay falls back to the catalogue's stock, and the decision says so", () => {
  const engine = load();
  engine.applyOverlay(read("sold-out-a.opa"), { now: NOW });
  const later = overview(engine, "2026-12-06T09:00:00Z");
  assert.ok(shown(later).includes("rijksmuseum"));
  assert.deepEqual(later.warnings, ["overlay_expired"]);
  assert.equal(later.overlaySequence, undefined);
  engine.free();
});

test("after a trap the fresh instance carries the overlay on", async () => {
  const trapPkg = join(root, "target", "pkg-trap", "node.js");
  assert.ok(existsSync(trapPkg), "target/pkg-trap/ is missing: run ./build.sh build");
  const opmaat = await import(new URL(`file://${trapPkg}`).href);
  const reports = [];
  opmaat.setOnError((e) => reports.push(e.code));
  const engine = opmaat.Engine.load(read("sample-a.opb"), { trustedKeys: trustA, now: NOW });
  engine.applyOverlay(read("sold-out-a.opa"), { now: NOW });
  assert.throws(() => opmaat.Engine.__trapForTests(), { code: "engine_trapped" });
  const d = overview(engine);
  assert.equal(d.trace.find((t) => t.proposition === "rijksmuseum").rule, "sold_out");
  assert.equal(engine.overlay.sequence, 2);
  assert.deepEqual(reports, ["engine_trapped"]);
  engine.free();
});
