// The edge-personalised homepage in real headless Chromium, through workerd: the banner is in the
// HTML as it arrives (the page's script sees it was decided at the edge and leaves it), with
// personalisation consent its impression counts when the browser renders it, "not interested"
// is a plain form post that brings the visitor back without that banner, without consent the
// browser keeps no cookie until that post (and then one with only the dismissal), and the page
// has no console errors. A screenshot goes to test-artifacts/ (not committed).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";

import { keys, root } from "../personas.mjs";
import { launchChromium } from "../browser/harness.mjs";
import { cookiePayload, edgeBundle, signedVisitorCookie, startEdge } from "./harness.mjs";

let edge, browser;
before(async () => {
  edge = await startEdge({ bundles: dirname(edgeBundle()), trustedKeys: JSON.stringify({ [keys.a.keyId]: keys.a.publicKey }) });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

test("decided at the edge, dismissed with a form post, no console errors", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  context.on("weberror", (e) => errors.push(e.error().message));
  context.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  // A returning visitor outside the holdout group, whose homepage shows green savings, who gave
  // personalisation consent in the cookie banner.
  const [name, value] = (await signedVisitorCookie()).split("=");
  await context.addCookies([{ name, value, url: edge.base }, { name: "opmaat_consent", value: "personalisation.marketing", url: edge.base }]);
  const page = await context.newPage();
  const response = await page.goto(`${edge.base}/`);
  assert.match(await response.headerValue("server-timing"), /opmaat;dur=/);
  await page.waitForFunction(() => window.opmaatDemo?.ready);
  const slot = '[data-opmaat-slot="homepage:1"]';
  assert.equal(await page.getAttribute(slot, "data-opmaat-rendered"), "edge");
  assert.equal(await page.getAttribute(slot, "data-opmaat-proposition"), "green-savings");
  assert.equal(await page.evaluate(() => window.opmaatDemo.edge), true, "the page's script left the edge's banner alone");
  // The banner was rendered in view: its pixel loaded, and the impression is in the cookie.
  await page.waitForLoadState("networkidle");
  const ledger = async () => cookiePayload(`opmaat_v=${(await context.cookies()).find((c) => c.name === "opmaat_v").value}`).l;
  assert.ok(await ledger(), "the impression is in the ledger");
  mkdirSync(join(root, "test-artifacts"), { recursive: true });
  await page.screenshot({ path: join(root, "test-artifacts", "edge-homepage-desktop.png") });

  await Promise.all([page.waitForURL(`${edge.base}/`), page.click(`${slot} .opmaat-dismiss`)]);
  await page.waitForFunction(() => window.opmaatDemo?.ready);
  const next = await page.getAttribute(slot, "data-opmaat-proposition");
  assert.ok(next && next !== "green-savings", next);
  await page.reload();
  assert.notEqual(await page.getAttribute(slot, "data-opmaat-proposition"), "green-savings");

  // The call to action goes through the worker, which records the click and redirects to the
  // bank's form with the token (that site is not on this machine: the request is what counts).
  const [form] = await Promise.all([page.waitForRequest((r) => new URL(r.url()).host === "www.example-bank.nl"), page.click(`${slot} .opmaat-cta`)]);
  assert.ok(new URL(form.url()).searchParams.get("opmaat"), form.url());
  assert.deepEqual(errors, []);
  await context.close();
});

test("without consent: no cookie until \"not interested\", then one with only the dismissal", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  context.on("weberror", (e) => errors.push(e.error().message));
  context.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  const page = await context.newPage();
  await page.goto(`${edge.base}/`);
  await page.waitForFunction(() => window.opmaatDemo?.ready);
  await page.waitForLoadState("networkidle");
  const slot = '[data-opmaat-slot="homepage:1"]';
  const first = await page.getAttribute(slot, "data-opmaat-proposition");
  assert.ok(first);
  assert.deepEqual((await context.cookies()).map((c) => c.name), [], "nothing stored by viewing the page");
  assert.equal(await page.locator(`${slot} .opmaat-seen`).count(), 0, "no impression pixel");

  await Promise.all([page.waitForURL(`${edge.base}/`), page.click(`${slot} .opmaat-dismiss`)]);
  await page.waitForFunction(() => window.opmaatDemo?.ready);
  const cookies = await context.cookies();
  assert.deepEqual(cookies.map((c) => c.name), ["opmaat_v"]);
  assert.deepEqual(Object.keys(cookiePayload(`opmaat_v=${cookies[0].value}`)).sort(), ["d", "f", "t"]);
  assert.notEqual(await page.getAttribute(slot, "data-opmaat-proposition"), first);
  await page.reload();
  assert.notEqual(await page.getAttribute(slot, "data-opmaat-proposition"), first);
  assert.deepEqual(errors, []);
  await context.close();
});
