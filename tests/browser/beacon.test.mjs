// The package's Beacon in real headless Chromium (Debian's, driven by playwright-core): events go
// to the demo collector on 127.0.0.1 when the page is left, and events the browser would not take
// survive in localStorage until the next page sends them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium, serveDemo } from "./harness.mjs";



let server, browser, base, eventsFile;
before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "opmaat-beacon-"));
  eventsFile = join(dir, "events.jsonl");
  ({ server, base } = await serveDemo({ bundles: dir, eventsFile }));
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  server?.close();
});

const event = (kind, n) => ({
  decisionId: `d-${n}`, proposition: "green-savings", treatment: "a", holdout: false, event: kind,
  time: "2026-12-05T09:30:00Z", bundle: "bank-nl-web", bundleVersion: 1, placement: "overview", position: 1,
  selectionProbability: 1, subject: "pz-8d1c",
});

async function collected(count) {
  for (let i = 0; i < 50 && !(existsSync(eventsFile) && readFileSync(eventsFile, "utf8").trim().split("\n").length >= count); i++) {
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return existsSync(eventsFile) ? readFileSync(eventsFile, "utf8").trim().split("\n").map((l) => JSON.parse(l)) : [];
}

async function openPage(page) {
  await page.goto(`${base}/`);
  await page.evaluate(async (url) => {
    const { Beacon } = await import("/pkg/browser.js");
    window.beacon = new Beacon({ url, flushAfterMs: 60_000 });
  }, `${base}/collect`);
}

test("queued events go out when the page is left", async () => {
  const page = await browser.newPage();
  await openPage(page);
  await page.evaluate((events) => window.beacon.send(events), [event("impression", 1), event("click", 1)]);
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem("opmaat.unsent")).length), 2);
  await page.goto(`${base}/index.html?next`); // leaving fires pagehide
  const lines = await collected(2);
  assert.deepEqual(lines.map((e) => `${e.decisionId}:${e.event}`), ["d-1:impression", "d-1:click"]);
  assert.equal(await page.evaluate(() => localStorage.getItem("opmaat.unsent")), null);
  await page.close();
});

test("events the browser refused survive the reload and are sent by the next page", async () => {
  const page = await browser.newPage();
  await openPage(page);
  await page.evaluate((events) => {
    navigator.sendBeacon = () => false; // the browser's beacon quota is full
    window.beacon.send(events);
    return window.beacon.flush();
  }, [event("dismiss", 2)]);
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem("opmaat.unsent")).length), 1);
  await page.reload();
  await openPage(page); // a new Beacon sends what the last page left behind
  const lines = await collected(3);
  assert.equal(lines.at(-1).decisionId, "d-2");
  assert.equal(lines.at(-1).event, "dismiss");
  assert.equal(await page.evaluate(() => localStorage.getItem("opmaat.unsent")), null);
  await page.close();
});
