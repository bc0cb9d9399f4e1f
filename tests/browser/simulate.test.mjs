// The report of `opmaat simulate --out` in real headless Chromium at desktop width, opened from
// file:// as a marketer would open the file: it renders with no console error and no request
// beyond the file itself, its charts are drawn as inline SVG with their labels, and its tables
// are filled. Screenshots go to test-artifacts/ (not committed) for review.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

import { root } from "../personas.mjs";
import { launchChromium } from "./harness.mjs";

const CLI = join(root, "target/debug/opmaat");
const ARTIFACTS = join(root, "test-artifacts");

let browser, report;
before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "opmaat-simulate-"));
  copyFileSync(join(root, "www/catalogue.json"), join(dir, "catalogue.json"));
  execFileSync(CLI, ["synth", "--people", "1500", "--people-out", join(dir, "people.parquet")]);
  execFileSync(CLI, ["simulate", "--catalogue", join(dir, "catalogue.json"), "--population", join(dir, "people.parquet"),
    "--days", "28", "--start", "2026-12-01T00:00:00Z", "--out", join(dir, "report.html")], { stdio: ["ignore", "ignore", "pipe"] });
  report = join(dir, "report.html");
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test("the simulation report renders self-contained with its charts", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [], requests = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(report).href);
  assert.deepEqual(problems, []);
  assert.deepEqual(requests, [pathToFileURL(report).href], "nothing but the file itself is fetched");

  const headings = await page.$$eval("h2", (hs) => hs.map((h) => h.textContent));
  for (const h of ["Share of voice", "Coverage per product segment", "Service and sales", "What the strategic knob costs",
    "Bank value and customer value", "Contact pressure", "Measurement"]) {
    assert.ok(headings.includes(h), `${h} in ${headings}`);
  }
  // Every chart drawn, with bars or lines, labelled, and inside the page's width.
  const charts = await page.$$eval(".chart svg", (svgs) => svgs.map((s) => ({
    shapes: s.querySelectorAll("rect, polyline, path, circle").length,
    text: s.textContent,
    width: s.getBoundingClientRect().width,
  })));
  assert.ok(charts.length >= 5, `${charts.length} charts`);
  for (const c of charts) {
    assert.ok(c.shapes > 5, "a chart with its marks");
    assert.ok(c.width > 600 && c.width <= 1280, `chart width ${c.width}`);
  }
  assert.ok(charts.some((c) => c.text.includes("green-savings")), "share of voice names the propositions");
  assert.ok(charts.some((c) => c.text.includes("with the knob") && c.text.includes("2026-12-01")), "the knob over time, dated");
  const rows = await page.$$eval("table tbody tr", (trs) => trs.length);
  assert.ok(rows > 30, `${rows} table rows`);
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scroll <= 1280, `no sideways scrolling (${scroll})`);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, "simulate-report-desktop.png") });
  await page.screenshot({ path: join(ARTIFACTS, "simulate-report-full.png"), fullPage: true });
  await page.close();
});
