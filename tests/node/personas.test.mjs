// The persona decisions made in Wasm under Node, through the npm package, equal the native ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { Engine } from "../../pkg/node.js";
import { bundleFile, personaDecisions, trustedKeys } from "../personas.mjs";

const engine = Engine.load(readFileSync(bundleFile), { trustedKeys, now: "2026-12-05T09:30:00Z" });

for (const p of personaDecisions()) {
  test(`${p.name}: Wasm equals native`, () => {
    const wasm = engine.decide({ placement: p.placement, profile: p.profile, context: p.context, now: p.now, trace: true });
    assert.deepEqual(wasm, p.native);
    assert.deepEqual(wasm.slots.map((s) => s.proposition), p.expectedSlots);
    // Without `trace: true` the same decision comes back without its trace.
    const lean = engine.decide({ placement: p.placement, profile: p.profile, context: p.context, now: p.now });
    assert.deepEqual(lean, { ...p.native, trace: [] });
  });
}

test("one profile, several placements: converted once, decided for each", () => {
  const [p] = personaDecisions().filter((d) => d.name.startsWith("a young family"));
  const profile = engine.profile(p.profile);
  const all = engine.decideAll({ placements: ["overview", "app-home"], profile: p.profile, context: p.context, now: p.now, trace: true });
  const each = ["overview", "app-home"].map((placement) => engine.decideFor(profile, { placement, context: p.context, now: p.now, trace: true }));
  assert.deepEqual(all, each);
  assert.deepEqual(engine.decideAllFor(profile, { placements: ["overview", "app-home"], context: p.context, now: p.now, trace: true }), all);
  assert.throws(() => engine.decideAll({ placements: ["overview"], profile }), { code: "invalid_argument", message: /decideAllFor/ });
  assert.deepEqual(all[0], engine.decide({ placement: "overview", profile: p.profile, context: p.context, now: p.now, trace: true }));
  assert.throws(() => engine.decide({ placement: "overview", profile, now: p.now }), { code: "invalid_argument" });
});

test("dismiss, and the banner stays away; a bad ledger is reset with a warning", () => {
  const [p] = personaDecisions().filter((d) => d.name === "a student / overview");
  const profile = engine.profile(p.profile);
  const first = engine.decideFor(profile, { placement: "overview", context: p.context, now: p.now, trace: true });
  const slot = first.slots[0];
  const r1 = engine.recordFor(profile, undefined, { event: "dismiss", token: slot.token, now: p.now });
  assert.equal(r1.recorded, "added");
  assert.equal(r1.measurement.length, 1);
  assert.equal(r1.measurement[0].event, "dismiss");
  assert.equal(r1.measurement[0].subject, p.profile.id);
  const r2 = engine.record(r1.ledger, { event: "dismiss", token: slot.token, now: p.now });
  assert.equal(r2.recorded, "duplicate");
  assert.equal(r2.ledger, r1.ledger);
  const next = engine.decideFor(profile, { placement: "overview", context: p.context, ledger: r2.ledger, now: p.now, trace: true });
  assert.ok(!next.slots.some((s) => s.proposition === slot.proposition));
  assert.equal(next.trace.find((t) => t.proposition === slot.proposition).rule, "dismiss_cooldown");
  const broken = engine.decideFor(profile, { placement: "overview", context: p.context, ledger: "L1.garbage", now: p.now });
  assert.deepEqual(broken.warnings, ["ledger_corrupt"]);
  assert.deepEqual(broken.slots.map((s) => s.proposition), first.slots.map((s) => s.proposition));
  assert.throws(() => engine.record(undefined, { event: "like", token: slot.token }), { code: "invalid_argument" });
});

test("bad profiles are refused with their codes, and the instance lives on", () => {
  assert.throws(() => engine.profile({ id: "x", attributes: { email: "jan@example.nl" } }), { code: "personal_data" });
  assert.throws(() => engine.profile("{not json"), { code: "invalid_profile" });
  assert.throws(() => engine.decide({ placement: "nowhere" }), (e) => typeof e.code === "string");
  assert.equal(engine.decide({ placement: "homepage", context: { page: "/sparen" } }).slots.length, 1);
});
