// The READMEs' browser examples, run as written in real headless Chromium against the built
// package (an import map stands where a bank's bundler or CDN would resolve "opmaat"): the npm
// package's README, and the main README's "On a page". Only the placeholders the text leaves to
// the reader (trusted keys, the customer's snapshot) are filled in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { fixtures, root, trustedKeys } from "../personas.mjs";
import { launchChromium, serveDemo } from "./harness.mjs";

const IMPORT_MAP = { imports: { "opmaat": "/pkg/browser.js", "opmaat/start": "/pkg/start.js", "opmaat/sample": "/pkg/sample/index.js" } };
const student = JSON.parse(readFileSync(join(root, "tests/personas/student.json"), "utf8")).profile;

/** The `js` code blocks of a Markdown file. */
const jsBlocks = (file) => readFileSync(join(root, file), "utf8").split("```js\n").slice(1).map((b) => b.split("```")[0]);

let dir, server, base, browser;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "opmaat-readme-"));
  copyFileSync(join(fixtures, "sample-a.opb"), join(dir, "bank-nl-web.opb"));
  ({ server, base } = await serveDemo({ bundles: dir }));
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  server?.close();
});

/** Runs `code` as a module on a page with `body`; resolves to what it logged, once it is done. */
async function run(name, code, body = "") {
  writeFileSync(join(dir, `${name}.html`), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
    <script type="importmap">${JSON.stringify(IMPORT_MAP)}</script>${body}
    <script type="module">${code}\nwindow.done = true;</script>`);
  const page = await browser.newPage();
  const logged = [];
  const errors = [];
  page.on("console", (m) => (m.type() === "error" ? errors : logged).push(m.text()));
  page.on("pageerror", (e) => errors.push(e.message));
  await page.clock.setFixedTime(new Date("2026-12-05T09:30:00Z"));
  await page.goto(`${base}/bundles/${name}.html`);
  await page.waitForFunction(() => window.done === true);
  return { page, logged, errors };
}

test("the package README's quick start runs in Chromium as pasted and logs what it says", async () => {
  const [example] = jsBlocks("pkg-template/README.md");
  const promised = example.match(/^\/\/ (bank-nl-web .*)$/m)[1];
  const { page, logged, errors } = await run("package-readme", example);
  assert.deepEqual(logged, [promised]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the README's \"On a page\" example fills the slots of a page", async () => {
  const example = jsBlocks("README.md").find((b) => b.includes('from "opmaat/start"'));
  const prelude = `const trustedKeys = ${JSON.stringify(trustedKeys)}; const snapshot = ${JSON.stringify(student)};\n`;
  const slots = [1, 2, 3].map((i) => `<section data-opmaat-slot="overview:${i}"><p>Default ${i}</p></section>`).join("");
  const { page, errors } = await run("on-a-page", prelude + example, slots);
  const shown = await page.$$eval("[data-opmaat-slot]", (els) => els.map((e) => e.getAttribute("data-opmaat-proposition")));
  assert.deepEqual(shown, ["student-13th-month", "rijksmuseum", "phishing-tips"]);
  assert.deepEqual(errors, []);
  await page.close();
});
