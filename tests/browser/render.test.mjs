// renderSlots in real headless Chromium: a decision put on a page safely, and the customer's
// responses (impression when visible, click before navigating, "not interested") recorded in the
// ledger in localStorage. The bundle is the sample catalogue with a hostile title, signed by the
// native CLI in this run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { fixtures, root, trustedKeys } from "../personas.mjs";
import { launchChromium, serveDemo } from "./harness.mjs";

const HOSTILE = '<img src=x onerror="window.pwned=1">';
const student = JSON.parse(readFileSync(join(root, "tests/personas/student.json"), "utf8")).profile;

let server, browser, base;
before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "opmaat-render-"));
  const catalogue = readFileSync(join(root, "www/catalogue.json"), "utf8")
    .replace('"title": "Een 13e maand studiefinanciering voor u?"', `"title": ${JSON.stringify("13e maand " + HOSTILE)}`);
  writeFileSync(join(dir, "catalogue.json"), catalogue);
  execFileSync(join(root, "target/debug/opmaat"), ["build", join(dir, "catalogue.json"), "--key", join(fixtures, "a.key"), "--out", join(dir, "bank.opb")]);
  // The same catalogue with everyone in the holdout group: what its decisions withhold.
  const held = JSON.parse(catalogue);
  held.holdout = { ...held.holdout, percent: 100 };
  writeFileSync(join(dir, "held.json"), JSON.stringify(held));
  execFileSync(join(root, "target/debug/opmaat"), ["build", join(dir, "held.json"), "--key", join(fixtures, "a.key"), "--out", join(dir, "held.opb")]);
  writeFileSync(join(dir, "page.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
    <main>${[1, 2, 3, 4].map((i) => `<section data-opmaat-slot="overview:${i}"><p>Default ${i}</p></section>`).join("")}</main>`);
  ({ server, base } = await serveDemo({ bundles: dir }));
  mkdirSync(join(root, "test-artifacts"), { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  server?.close();
});

async function open(viewport) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.route("https://www.example-bank.nl/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<p>form</p>" }));
  await page.goto(`${base}/bundles/page.html`);
  await render(page);
  return { page, errors };
}

function render(page) {
  return page.evaluate(async ({ trustedKeys, student }) => {
    const o = await import("/pkg/browser.js");
    await o.init();
    const bytes = await (await fetch("/bundles/bank.opb")).arrayBuffer();
    const engine = o.Engine.load(bytes, { trustedKeys, now: "2026-12-05T09:30:00Z" });
    const profile = engine.profile(student);
    const store = o.localStorageLedger();
    const decision = engine.decideFor(profile, {
      placement: "overview", now: "2026-12-05T09:30:00Z", ledger: store.get(), trace: true,
      context: { page: "/overzicht", locale: "nl-NL", formFactor: o.formFactorFor(window) },
    });
    window.opmaat = { o, engine, profile, store, decision };
    return o.renderSlots(decision, document, { engine, profile, store });
  }, { trustedKeys, student });
}

const recorded = (page, event, token) => page.evaluate(({ event, token }) => {
  const { engine, store } = window.opmaat;
  return engine.record(store.get(), { event, token, now: "2026-12-05T09:30:00Z" }).recorded;
}, { event, token });

test("slots are filled with text only, links carry the token, the rest keeps its default", async () => {
  const { page, errors } = await open({ width: 1280, height: 900 });
  const banners = await page.$$eval("[data-opmaat-slot] .opmaat-banner", (els) => els.map((e) => ({
    title: e.querySelector(".opmaat-title").textContent,
    markup: e.querySelector(".opmaat-title").children.length,
    href: e.querySelector(".opmaat-cta")?.href,
    large: e.classList.contains("opmaat-large"),
  })));
  assert.equal(banners.length, 3);
  assert.equal(banners[0].title, "13e maand " + HOSTILE, "the hostile title is shown as text");
  assert.equal(banners[0].markup, 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  for (const b of banners) {
    const url = new URL(b.href, base);
    assert.ok(url.origin === base || url.host === "www.example-bank.nl", b.href);
    assert.ok(url.searchParams.get("opmaat"), `no token in ${b.href}`);
    assert.ok(b.large);
  }
  assert.equal(await page.textContent('[data-opmaat-slot="overview:4"]'), "Default 4");
  // Visible banners record their impression (once).
  const token = await page.getAttribute('[data-opmaat-slot="overview:1"] .opmaat-banner', "data-opmaat-token");
  await page.waitForFunction(() => localStorage.getItem("opmaat.ledger") !== null);
  assert.equal(await recorded(page, "impression", token), "duplicate");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a click is recorded before the browser follows the link", async () => {
  const { page, errors } = await open({ width: 1280, height: 900 });
  const token = await page.getAttribute('[data-opmaat-slot="overview:2"] .opmaat-banner', "data-opmaat-token");
  await Promise.all([page.waitForURL(/example-bank\.nl/), page.click('[data-opmaat-slot="overview:2"] .opmaat-cta')]);
  assert.match(page.url(), new RegExp(`opmaat=${token}`));
  await page.goto(`${base}/bundles/page.html`);
  await render(page);
  assert.equal(await recorded(page, "click", token), "duplicate");
  assert.deepEqual(errors, []);
  await page.close();
});

test("not interested: the banner goes, the default comes back, and after a reload it stays gone", async () => {
  const { page, errors } = await open({ width: 1280, height: 900 });
  const dismissed = await page.getAttribute('[data-opmaat-slot="overview:1"]', "data-opmaat-proposition");
  await page.click('[data-opmaat-slot="overview:1"] .opmaat-dismiss');
  assert.equal(await page.textContent('[data-opmaat-slot="overview:1"]'), "Default 1");
  await page.reload();
  const again = await render(page);
  assert.ok(!again.shown.includes(dismissed), JSON.stringify(again.shown));
  const rule = await page.evaluate((id) => window.opmaat.decision.trace.find((t) => t.proposition === id).rule, dismissed);
  assert.equal(rule, "dismiss_cooldown");
  assert.deepEqual(errors, []);
  await page.close();
});

test("at a mobile width the compact creatives are shown, and a proposition without one is not", async () => {
  const { page, errors } = await open({ width: 390, height: 844 });
  const classes = await page.$$eval(".opmaat-banner", (els) => els.map((e) => e.className));
  assert.ok(classes.length > 0);
  assert.ok(classes.every((c) => c.includes("opmaat-compact")), classes.join());
  const trace = await page.evaluate(() => window.opmaat.decision.trace.find((t) => t.proposition === "rijksmuseum"));
  assert.equal(trace.rule, "no_compact_creative");
  await page.screenshot({ path: join(root, "test-artifacts", "render-mobile.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a held-out customer's page sends what the decision withheld, as the control group's exposures", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${base}/bundles/page.html`);
  const { decision, sent } = await page.evaluate(async ({ trustedKeys, student }) => {
    const o = await import("/pkg/browser.js");
    await o.init();
    const engine = o.Engine.load(await (await fetch("/bundles/held.opb")).arrayBuffer(), { trustedKeys, now: "2026-12-05T09:30:00Z" });
    const profile = engine.profile(student);
    const decision = engine.decideFor(profile, { placement: "overview", now: "2026-12-05T09:30:00Z", context: { page: "/overzicht" } });
    const sent = [];
    o.renderSlots(decision, document, { engine, profile, store: o.localStorageLedger(), beacon: { send: (events) => sent.push(...events) } });
    return { decision, sent };
  }, { trustedKeys, student });
  assert.equal(decision.holdout, true);
  assert.ok(decision.withheld.length > 0, "the held-out decision withheld sales propositions");
  assert.ok(decision.slots.every((s) => s.kind === "service"));
  const withheld = sent.filter((e) => e.event === "withheld");
  assert.deepEqual(withheld.map((e) => e.proposition), decision.withheld.map((w) => w.proposition));
  for (const e of withheld) {
    assert.equal(e.holdout, true);
    assert.equal(e.position, 0);
    assert.equal(e.placement, "overview");
    assert.equal(e.decisionId, decision.decisionId);
    assert.ok(e.selectionProbability > 0 && e.selectionProbability <= 1);
  }
  await page.close();
});
