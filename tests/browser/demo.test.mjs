// The demo itself, as a visitor sees it, in real headless Chromium through the demo server: every
// persona's banners on the logged-in overview (and the logged-off homepage) are the ones the
// native CLI decides for the same profile, context and time; "not interested" survives a reload;
// a tampered bundle falls back to the last good one and says why; without WebAssembly the pages
// keep their default content; no console errors anywhere. Screenshots at desktop and mobile width
// go to test-artifacts/ (not committed).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

import { fixtures, keys, nativeDecision, personas, root } from "../personas.mjs";
import { CHROMIUM_ARGS, launchChromium, serveDemo } from "./harness.mjs";
import { publishOverlay } from "../../www/serve.mjs";

const NOW = "2026-12-05T09:30:00Z";
const DESKTOP = { width: 1280, height: 900 };
const MOBILE = { width: 390, height: 844 };
const ARTIFACTS = join(root, "test-artifacts");
const BUNDLE = "bank-nl-web.opb";

let dir, server, browser, base;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "opmaat-demo-"));
  copyFileSync(join(fixtures, "sample-a.opb"), join(dir, BUNDLE));
  writeFileSync(join(dir, "trusted-keys.json"), JSON.stringify({ [keys.a.keyId]: keys.a.publicKey }));
  // Campaign operations sign with the fixtures' key a, at the time the pages' clocks are set to.
  const ops = { cli: join(root, "target/debug/opmaat"), key: join(fixtures, "a.key"), bundleId: "bank-nl-web", out: join(dir, "bank-nl-web.opa"), issuedAt: () => NOW };
  ({ server, base } = await serveDemo({ bundles: dir, eventsFile: join(dir, "events.jsonl"), ops }));
  // As the demo starts: the museum deal's stock as catalogued, published by operations.
  assert.ok((await publishOverlay(ops, { rijksmuseum: { remaining: 500 } })).ok);
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  server?.close();
});

/** A fresh visitor (own storage) at `viewport`, with the clock at `now`. */
async function visitor(viewport = DESKTOP, { on = browser, now = NOW } = {}) {
  const context = await on.newContext({ viewport });
  await context.clock.setFixedTime(new Date(now));
  // The bank's own site is not on this machine: links to it land on a stand-in form.
  await context.route("https://www.example-bank.nl/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<p>formulier</p>" }));
  const errors = [];
  context.on("weberror", (e) => errors.push(e.error().message));
  context.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  return { context, errors };
}

/** Resolves once the demo's page logic has run (decided and rendered, or kept the defaults). */
const ready = (page) => page.waitForFunction(() => window.opmaatDemo?.ready);

async function open(context, path) {
  const page = await context.newPage();
  await page.goto(`${base}${path}`);
  await ready(page);
  return page;
}

const shownOn = (page, placement) => page.$$eval(`[data-opmaat-slot^="${placement}:"]`, (els) =>
  els.map((e) => e.getAttribute("data-opmaat-proposition")).filter(Boolean));
const demoState = (page) => page.evaluate(() => ({ ...window.opmaatDemo, decisions: undefined,
  ledger: localStorage.getItem(`opmaat.ledger.${window.opmaatDemo.persona}`) ?? undefined, now: new Date().toISOString() }));

/** The native CLI's choice for exactly what the page decided with: profile, context, ledger, time. */
async function nativeFor(page, placement) {
  const { profile, context, ledger, now } = await demoState(page);
  return nativeDecision({ placement, profile, context, ledger, now });
}

const loggedIn = personas().filter((p) => (p.profile.loggedIn ?? Boolean(p.profile.id)) && p.decisions.some((d) => d.placement === "overview"));

for (const persona of loggedIn) {
  const visit = persona.decisions.find((d) => d.placement === "overview");
  const small = visit.context.formFactor === "small";
  test(`overview, ${persona.persona}: the banners the funnel chooses, and why`, async () => {
    const { context, errors } = await visitor(small ? MOBILE : DESKTOP, { now: visit.now ?? persona.now });
    const page = await open(context, `/overzicht/?persona=${persona.file}`);
    const native = await nativeFor(page, "overview");
    const shown = await shownOn(page, "overview");
    assert.deepEqual(shown, native.slots.map((s) => s.proposition));
    if (visit.context.page === "/overzicht") assert.deepEqual(shown, visit.slots, "the persona's own expectation");
    if (small) assert.deepEqual(shown, visit.slots, "the compact creatives the persona expects");
    const classes = await page.$$eval(".opmaat-banner", (els) => els.map((e) => e.className));
    assert.ok(classes.every((c) => c.includes(small ? "opmaat-compact" : "opmaat-large")), classes.join());
    // Unfilled slots keep their default content: never a blank slot.
    for (let position = shown.length + 1; position <= 3; position++) {
      assert.ok((await page.textContent(`[data-opmaat-slot="overview:${position}"] .default h3`)).length > 0);
    }
    // "Why this offer?" names every proposition not shown with its stage and rule.
    await page.click(".why summary");
    const why = await page.$$eval(".why .not-shown tr", (rows) => rows.slice(1).map((r) => [...r.cells].slice(0, 3).map((c) => c.textContent).join("/")));
    assert.deepEqual(why, native.trace.map((t) => `${t.proposition}/${t.stage}/${t.rule}`));
    assert.equal(await page.locator(".why .shown tr").count(), 1 + Math.max(shown.length, 1));
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("campaign operations sell the museum deal out while the page is open: gone at the next decision, the trace says sold_out", async () => {
  const { context, errors } = await visitor();
  const page = await open(context, "/overzicht/?persona=student");
  assert.deepEqual(await shownOn(page, "overview"), ["student-13th-month", "rijksmuseum", "phishing-tips"]);
  await page.click("text=Rijksmuseum-deal uitverkocht");
  await page.waitForFunction(() => window.opmaatDemo.overlay !== null);
  await page.waitForFunction(() => !document.querySelector('[data-opmaat-proposition="rijksmuseum"]'));
  const shown = await shownOn(page, "overview");
  assert.ok(!shown.includes("rijksmuseum"), shown.join());
  const { decisions } = await page.evaluate(() => ({ decisions: window.opmaatDemo.decisions }));
  const entry = decisions[0].trace.find((t) => t.proposition === "rijksmuseum");
  assert.deepEqual([entry.rule, decisions[0].overlaySequence > 0], ["sold_out", true]);
  await page.click(".why summary");
  const why = await page.$$eval(".why .not-shown tr", (rows) => rows.map((r) => [...r.cells].slice(0, 3).map((c) => c.textContent).join("/")));
  assert.ok(why.includes("rijksmuseum/select/sold_out"), why.join("\n"));
  // A new page of the same visitor starts with the overlay in force; restocked, the deal is back.
  const next = await open(context, "/overzicht/?persona=student");
  assert.ok(!(await shownOn(next, "overview")).includes("rijksmuseum"));
  await next.click("text=Alles weer beschikbaar");
  await next.waitForFunction(() => document.querySelector('[data-opmaat-proposition="rijksmuseum"]'));
  assert.deepEqual(errors, []);
  await context.close();
});

test("homepage, logged-off visitor: the banner the funnel chooses for this visitor's id", async () => {
  const { context, errors } = await visitor();
  const page = await open(context, "/");
  const { profile } = await demoState(page);
  assert.match(profile.id, /^v-[a-z]{16}$/);
  assert.equal(profile.loggedIn, false);
  const native = await nativeFor(page, "homepage");
  assert.equal(native.slots.length, 1);
  assert.deepEqual(await shownOn(page, "homepage"), native.slots.map((s) => s.proposition));
  // The same visitor id on the next page view: the decision is the visitor's, not a new one's.
  await page.reload();
  await ready(page);
  assert.equal((await demoState(page)).profile.id, profile.id);
  assert.deepEqual(errors, []);
  await context.close();
});

test("not interested: the banner goes, and after a reload it stays gone", async () => {
  const { context, errors } = await visitor();
  const page = await open(context, "/overzicht/?persona=student");
  const dismissed = await page.getAttribute('[data-opmaat-slot="overview:1"]', "data-opmaat-proposition");
  assert.equal(dismissed, "student-13th-month");
  await page.click('[data-opmaat-slot="overview:1"] .opmaat-dismiss');
  assert.equal(await page.textContent('[data-opmaat-slot="overview:1"] .default h3'), "Veilig bankieren");
  await page.reload();
  await ready(page);
  const shown = await shownOn(page, "overview");
  assert.ok(shown.length > 0 && !shown.includes(dismissed), shown.join());
  assert.deepEqual(shown, (await nativeFor(page, "overview")).slots.map((s) => s.proposition));
  const rule = await page.evaluate((id) => window.opmaatDemo.decisions[0].trace.find((t) => t.proposition === id).rule, dismissed);
  assert.equal(rule, "dismiss_cooldown");
  // Another persona on the same device has a ledger of its own.
  await page.selectOption("#persona", "young-family");
  assert.ok(new URL(page.url()).search.includes("persona=young-family"));
  assert.deepEqual(await shownOn(page, "overview"), ["kids-savings", "rijksmuseum", "phishing-tips"]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("logging in keeps what the visitor said on the homepage: a banner dismissed there stays dismissed in the overview", async () => {
  const { context, errors } = await visitor();
  // A visitor outside the 2% holdout group, so that the homepage shows them green savings.
  await context.addInitScript(() => {
    try {
      localStorage.setItem("opmaat.demo.visitor", "v-abcdefghijklmnop");
    } catch {
      // about:blank has no storage
    }
  });
  const home = await open(context, "/");
  assert.deepEqual(await shownOn(home, "homepage"), ["green-savings"]);
  await home.click('[data-opmaat-slot="homepage:1"] .opmaat-dismiss');
  // Logged in as a customer whose overview would show green savings.
  const overview = await open(context, "/overzicht/?persona=no-personalisation-consent");
  const shown = await shownOn(overview, "overview");
  assert.ok(!shown.includes("green-savings"), shown.join());
  const { decisions } = await overview.evaluate(() => ({ decisions: window.opmaatDemo.decisions }));
  assert.equal(decisions[0].trace.find((t) => t.proposition === "green-savings").rule, "dismiss_cooldown");
  // The merged memory is the customer's now, and the native CLI decides the same from it.
  const native = await nativeFor(overview, "overview");
  assert.deepEqual(shown, native.slots.map((s) => s.proposition));
  assert.deepEqual(errors, []);
  await context.close();
});

test("a click is recorded before the browser follows the link, with the token in the URL", async () => {
  const { context, errors } = await visitor();
  const page = await open(context, "/overzicht/?persona=pensioner");
  const token = await page.getAttribute('[data-opmaat-slot="overview:2"] .opmaat-banner', "data-opmaat-token");
  await Promise.all([page.waitForURL(/example-bank\.nl/), page.click('[data-opmaat-slot="overview:2"] .opmaat-cta')]);
  assert.equal(new URL(page.url()).searchParams.get("opmaat"), token);
  await page.goBack();
  await ready(page);
  const again = await page.evaluate(async (token) => {
    const { Engine, init } = await import("/pkg/browser.js");
    await init();
    const [bytes, keys] = await Promise.all([fetch("/bundles/bank-nl-web.opb").then((r) => r.arrayBuffer()), fetch("/bundles/trusted-keys.json").then((r) => r.json())]);
    const engine = Engine.load(bytes, { trustedKeys: keys });
    return engine.record(localStorage.getItem("opmaat.ledger.pensioner"), { event: "click", token }).recorded;
  }, token);
  assert.equal(again, "duplicate", "the click was in the ledger before the page was left");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a tampered bundle: the last good bundle is used and the error is reported", async () => {
  const { context, errors } = await visitor();
  const page = await open(context, "/overzicht/?persona=pensioner");
  const before = await shownOn(page, "overview");
  assert.equal((await demoState(page)).fromLastGood, false);
  const tampered = readFileSync(join(fixtures, "sample-a.opb"));
  tampered[tampered.length - 1] ^= 1;
  writeFileSync(join(dir, BUNDLE), tampered);
  try {
    await page.reload();
    await ready(page);
    const state = await demoState(page);
    assert.equal(state.fromLastGood, true);
    assert.deepEqual(state.errors.map((e) => e.code), ["bad_signature"]);
    assert.match(await page.textContent("#opmaat-status"), /bad_signature/);
    assert.deepEqual(await shownOn(page, "overview"), before, "the last good bundle decided");
  } finally {
    copyFileSync(join(fixtures, "sample-a.opb"), join(dir, BUNDLE));
  }
  // A fresh visitor has no last good bundle: the defaults stay and the reason is shown.
  writeFileSync(join(dir, BUNDLE), tampered);
  try {
    const fresh = await visitor();
    const page2 = await open(fresh.context, "/overzicht/?persona=pensioner");
    assert.deepEqual(await shownOn(page2, "overview"), []);
    assert.match(await page2.textContent('[data-opmaat-slot="overview:1"]'), /Veilig bankieren/);
    assert.deepEqual(fresh.errors, []);
    await fresh.context.close();
  } finally {
    copyFileSync(join(fixtures, "sample-a.opb"), join(dir, BUNDLE));
  }
  assert.deepEqual(errors, []);
  await context.close();
});

// V8 without its JIT has no WebAssembly, as in browsers' hardened modes (Safari's Lockdown Mode,
// Edge's enhanced security): the real way a visitor arrives without it.
test("WebAssembly disabled: both pages keep their default content, without errors", async () => {
  const noWasm = await chromium.launch({ executablePath: "/usr/bin/chromium", args: [...CHROMIUM_ARGS, "--js-flags=--jitless"] });
  try {
    const { context, errors } = await visitor(DESKTOP, { on: noWasm });
    const overview = await open(context, "/overzicht/?persona=student");
    assert.equal(await overview.evaluate(() => typeof WebAssembly), "undefined");
    assert.deepEqual(await shownOn(overview, "overview"), []);
    assert.deepEqual(await overview.$$eval("[data-opmaat-slot] .default h3", (els) => els.map((e) => e.textContent)),
      ["Veilig bankieren", "Alles in de app", "Hulp nodig?"]);
    assert.deepEqual((await demoState(overview)).errors.map((e) => e.code), ["no_webassembly"]);
    const home = await open(context, "/");
    assert.equal(await home.textContent('[data-opmaat-slot="homepage:1"] .default h3'), "Open een betaalrekening");
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await noWasm.close();
  }
});

for (const [name, viewport] of [["desktop", DESKTOP], ["mobile", MOBILE]]) {
  test(`screenshots at ${name} width: nothing wider than the screen`, async () => {
    const { context, errors } = await visitor(viewport);
    for (const [file, path] of [["homepage", "/"], ["overview", "/overzicht/?persona=young-family"]]) {
      const page = await open(context, path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the ${name} screen`);
      if (name === "mobile") {
        const classes = await page.$$eval(".opmaat-banner", (els) => els.map((e) => e.className));
        assert.ok(classes.every((c) => c.includes("opmaat-compact")), classes.join());
      }
      await page.screenshot({ path: join(ARTIFACTS, `demo-${file}-${name}.png`), fullPage: true });
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("crossing the breakpoint decides again with the compact creatives", async () => {
  const { context, errors } = await visitor(DESKTOP);
  const page = await open(context, "/overzicht/?persona=young-family");
  assert.ok((await page.$$eval(".opmaat-banner", (els) => els.map((e) => e.className))).every((c) => c.includes("opmaat-large")));
  await page.setViewportSize(MOBILE);
  await page.waitForFunction(() => window.opmaatDemo.context.formFactor === "small");
  const classes = await page.$$eval(".opmaat-banner", (els) => els.map((e) => e.className));
  assert.ok(classes.length > 0 && classes.every((c) => c.includes("opmaat-compact")), classes.join());
  assert.deepEqual(await shownOn(page, "overview"), (await nativeFor(page, "overview")).slots.map((s) => s.proposition));
  assert.deepEqual(errors, []);
  await context.close();
});

test("the app demo: the webview inside a simulated native side decides from the signed snapshot it hands in, and the app keeps the ledger", async () => {
  // What ./build.sh demo writes: the bank's development profile key and the customer it signed.
  const bank = mkdtempSync(join(tmpdir(), "opmaat-demo-bank-"));
  writeFileSync(join(bank, "profile.json"), JSON.stringify(personas().find((p) => p.file === "pensioner").profile));
  execFileSync(join(root, "target/debug/opmaat"), ["sign-profile", join(bank, "profile.json"), "--key", join(fixtures, "b.key"), "--out", join(dir, "app-profile.signed.json")]);
  writeFileSync(join(dir, "profile-keys.json"), JSON.stringify({ [keys.b.keyId]: keys.b.publicKey }));
  const { context, errors } = await visitor(DESKTOP);
  const page = await context.newPage();
  await page.goto(`${base}/app/`);
  const screen = () => page.frameLocator("#webview");
  const shown = () => screen().locator("[data-opmaat-slot][data-opmaat-proposition]").evaluateAll((els) => els.map((e) => e.getAttribute("data-opmaat-proposition")));
  await screen().locator('[data-opmaat-slot][data-opmaat-proposition="spaar-spektakel"]').waitFor();
  assert.deepEqual(await shown(), ["afloswijzer", "spaar-spektakel"]);
  await page.screenshot({ path: join(ARTIFACTS, "app-demo.png"), fullPage: true });
  await screen().locator('[data-opmaat-slot="app-home:2"] .opmaat-dismiss').click();
  await page.waitForFunction(() => window.opmaatApp.log.some((l) => l.message.type === "response" && l.message.event === "dismiss"));
  assert.ok((await page.evaluate(() => window.opmaatApp.ledger)).length > 10, "the app kept the ledger");
  // The webview's cache cleared: the app gives the ledger back, and the dismissal stays.
  await page.click("#clear-cache");
  await page.waitForFunction(() => window.opmaatApp.log.filter((l) => l.message.type === "decided").length >= 2);
  assert.ok(!(await shown()).includes("spaar-spektakel"));
  assert.deepEqual(errors, []);
  await context.close();
});
