// `opmaat/start` in real headless Chromium: the bundle fetched with revalidation, the last bundle
// that verified used when a fetch or a verification fails (and the failure reported by code),
// and a browser without WebAssembly left with the page's default content.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { fixtures, trustedKeys } from "../personas.mjs";
import { launchChromium, serveDemo } from "./harness.mjs";


let dir, server, browser, base;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "opmaat-start-"));
  copyFileSync(join(fixtures, "sample-a.opb"), join(dir, "bank.opb"));
  writeFileSync(join(dir, "page.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
    <section data-opmaat-slot="homepage:1"><p>Welkom bij de bank</p></section>`);
  ({ server, base } = await serveDemo({ bundles: dir }));
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  server?.close();
});

const start = (page, url = "/bundles/bank.opb") => page.evaluate(async ({ url, trustedKeys }) => {
  const { start } = await import("/pkg/start.js");
  const errors = [];
  const started = await start({ bundleUrl: url, trustedKeys, onError: (e) => errors.push(e.code), loadOptions: { now: "2026-12-05T09:30:00Z" } });
  return { started: started && { version: started.engine.version, fromLastGood: started.fromLastGood }, errors };
}, { url, trustedKeys });

test("a good bundle is used and kept; a bad one falls back to it, with the reason", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  const revalidations = [];
  const seen = (req, res) => req.url.endsWith("/bank.opb") && res.on("finish", () => revalidations.push([Boolean(req.headers["if-none-match"]), res.statusCode]));
  server.on("request", seen);
  await page.goto(`${base}/bundles/page.html`);
  assert.deepEqual(await start(page), { started: { version: 1, fromLastGood: false }, errors: [] });
  assert.deepEqual(await start(page), { started: { version: 1, fromLastGood: false }, errors: [] });
  server.off("request", seen);
  assert.deepEqual(revalidations, [[false, 200], [true, 304]], "the second fetch is a revalidation");

  const tampered = readFileSync(join(fixtures, "sample-a.opb"));
  tampered[tampered.length - 1] ^= 1;
  writeFileSync(join(dir, "bank.opb"), tampered);
  await page.reload();
  assert.deepEqual(await start(page), { started: { version: 1, fromLastGood: true }, errors: ["bad_signature"] });

  rmSync(join(dir, "bank.opb"));
  assert.deepEqual(await start(page), { started: { version: 1, fromLastGood: true }, errors: ["fetch_failed"] });
  assert.deepEqual(pageErrors, []);
  await context.close();
  copyFileSync(join(fixtures, "sample-a.opb"), join(dir, "bank.opb"));
});

test("the availability overlay: applied at start, revalidated while the page is open, kept for when the network is down", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.clock.setFixedTime(new Date("2026-12-05T09:30:00Z")); // inside the fixtures' overlays' window
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  copyFileSync(join(fixtures, "sold-out-a.opa"), join(dir, "bank.opa"));
  await page.goto(`${base}/bundles/page.html`);
  const first = await page.evaluate(async ({ trustedKeys }) => {
    const { start } = await import("/pkg/start.js");
    window.heard = [];
    window.errors = [];
    window.started = await start({
      bundleUrl: "/bundles/bank.opb", trustedKeys, loadOptions: { now: "2026-12-05T09:30:00Z" }, onError: (e) => window.errors.push(e.code),
      overlayUrl: "/bundles/bank.opa", overlayRevalidateSeconds: 0.2, onOverlay: (o) => window.heard.push(o.sequence),
    });
    return { sequence: window.started.engine.overlay.sequence, heard: [...window.heard] };
  }, { trustedKeys });
  assert.deepEqual(first, { sequence: 2, heard: [2] });
  // Unchanged: revalidated, not applied again. Then a new one while the page is open.
  await new Promise((ok) => setTimeout(ok, 700));
  assert.deepEqual(await page.evaluate(() => window.heard), [2]);
  copyFileSync(join(fixtures, "paused-a.opa"), join(dir, "bank.opa"));
  await page.waitForFunction(() => window.heard.length === 2);
  const decided = await page.evaluate(() => {
    const d = window.started.engine.decide({ placement: "overview", profile: { id: "p-student-01", attributes: { holdings: ["debit_card"] },
      consent: { personalisation: true, marketing: true } }, now: "2026-12-05T09:30:00Z", trace: true });
    return { heard: window.heard, rule: d.trace.find((t) => t.proposition === "rijksmuseum").rule, sequence: d.overlaySequence };
  });
  assert.deepEqual(decided, { heard: [2, 3], rule: "paused", sequence: 3 });
  // An older one is refused (reported), the one in use stays; none published (404) is no error.
  copyFileSync(join(fixtures, "sold-out-a.opa"), join(dir, "bank.opa"));
  await page.waitForFunction(() => window.errors.includes("rollback"));
  rmSync(join(dir, "bank.opa"));
  await new Promise((ok) => setTimeout(ok, 500));
  assert.deepEqual(await page.evaluate(() => ({ errors: window.errors.filter((c) => c !== "rollback"), sequence: window.started.engine.overlay.sequence })),
    { errors: [], sequence: 3 });
  await page.evaluate(() => window.started.stop());
  // The next page, offline for the overlay: the one this device applied last.
  await page.route("**/bank.opa", (route) => route.abort());
  await page.reload();
  const offline = await page.evaluate(async ({ trustedKeys }) => {
    const { start } = await import("/pkg/start.js");
    const errors = [];
    const started = await start({ bundleUrl: "/bundles/bank.opb", trustedKeys, loadOptions: { now: "2026-12-05T09:30:00Z" }, onError: (e) => errors.push(e.code), overlayUrl: "/bundles/bank.opa" });
    started.stop();
    return { sequence: started.engine.overlay?.sequence, errors };
  }, { trustedKeys });
  assert.deepEqual(offline, { sequence: 3, errors: ["fetch_failed"] });
  assert.deepEqual(pageErrors, []);
  await context.close();
});

test("a .wasm that cannot be fetched or compiled reaches onError with its code, and start leaves the defaults", async () => {
  for (const [wasm, code] of [["/bundles/missing.wasm", "fetch_failed"], ["/bundles/page.html", "no_webassembly"]]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/bundles/page.html`);
    const result = await page.evaluate(async ({ trustedKeys, wasm }) => {
      const { start } = await import("/pkg/start.js");
      const errors = [];
      const started = await start({ bundleUrl: "/bundles/bank.opb", trustedKeys, wasm, onError: (e) => errors.push(e.code) });
      return { started, errors, text: document.querySelector("[data-opmaat-slot]").textContent.trim() };
    }, { trustedKeys, wasm });
    assert.deepEqual(result, { started: null, errors: [code], text: "Welkom bij de bank" });
    await context.close();
  }
});

test("without a last good bundle a bad one leaves nothing to use", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/bundles/page.html`);
  assert.deepEqual(await start(page, "/bundles/missing.opb"), { started: null, errors: ["fetch_failed"] });
  await context.close();
});

test("without WebAssembly the page keeps its default content", async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => { delete globalThis.WebAssembly; });
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(`${base}/bundles/page.html`);
  assert.deepEqual(await start(page), { started: null, errors: ["no_webassembly"] });
  assert.equal(await page.textContent('[data-opmaat-slot="homepage:1"]'), "Welkom bij de bank");
  assert.deepEqual(pageErrors, []);
  await context.close();
});
