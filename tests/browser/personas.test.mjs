// The persona decisions made in Wasm in headless Chromium, through the package's browser entry,
// equal the native ones; and a dismissal survives a reload through localStorage.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { fixtures, personaDecisions, trustedKeys } from "../personas.mjs";
import { launchChromium, serveDemo } from "./harness.mjs";


let server, browser, page;
before(async () => {
  ({ server } = await serveDemo({ bundles: fixtures }));
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/pkg/package.json`);
  await page.evaluate(async (trustedKeys) => {
    const opmaat = await import("/pkg/browser.js");
    await opmaat.init();
    const bytes = await (await fetch("/bundles/sample-a.opb")).arrayBuffer();
    window.engine = opmaat.Engine.load(bytes, { trustedKeys, now: "2026-12-05T09:30:00Z" });
  }, trustedKeys);
});
after(async () => {
  await browser?.close();
  server?.close();
});

test("every persona decision in Chromium equals the native one", async () => {
  const personas = personaDecisions();
  const inBrowser = await page.evaluate((requests) => requests.map((r) => window.engine.decide(r)),
    personas.map((p) => ({ placement: p.placement, profile: p.profile, context: p.context, now: p.now, trace: true })));
  assert.equal(inBrowser.length, personas.length);
  personas.forEach((p, i) => assert.deepEqual(inBrowser[i], p.native, p.name));
});

test("a dismissed banner stays gone after a reload (ledger in localStorage)", async () => {
  const [p] = personaDecisions().filter((d) => d.name === "a student / overview");
  const decideAndDismiss = async () => page.evaluate((p) => {
    const ledger = localStorage.getItem("opmaat.ledger") ?? undefined;
    const d = window.engine.decide({ placement: p.placement, profile: p.profile, context: p.context, ledger, now: p.now });
    const first = d.slots[0];
    const r = window.engine.record(ledger, { event: "dismiss", token: first.token, now: p.now });
    localStorage.setItem("opmaat.ledger", r.ledger);
    return first.proposition;
  }, p);
  const dismissed = await decideAndDismiss();
  await page.reload();
  await page.evaluate(async (trustedKeys) => {
    const opmaat = await import("/pkg/browser.js");
    await opmaat.init();
    const bytes = await (await fetch("/bundles/sample-a.opb")).arrayBuffer();
    window.engine = opmaat.Engine.load(bytes, { trustedKeys, now: "2026-12-05T09:30:00Z" });
  }, trustedKeys);
  const after = await page.evaluate((p) => window.engine.decide({
    placement: p.placement, profile: p.profile, context: p.context, ledger: localStorage.getItem("opmaat.ledger"), now: p.now, trace: true,
  }), p);
  assert.ok(!after.slots.some((s) => s.proposition === dismissed), JSON.stringify(after.slots.map((s) => s.proposition)));
  assert.equal(after.trace.find((t) => t.proposition === dismissed).rule, "dismiss_cooldown");
  assert.deepEqual(after.warnings, []);
});
