// The npm package as a bank's web team gets it: `npm pack`, installed from the tarball into a
// fresh project, imported by name from Node ESM (the "node" export), and loaded in headless
// Chromium from a plain page with no bundler (the "browser" entry). Both load a bundle signed by
// the native CLI earlier in this run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./harness.mjs";
import { installedProject } from "../tarball.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixtures = join(root, "target", "test-fixtures");
const keys = JSON.parse(readFileSync(join(fixtures, "keys.json"), "utf8"));
const trusted = { [keys.a.keyId]: keys.a.publicKey };

let project;
before(() => {
  project = installedProject("opmaat-install-");
  copyFileSync(join(fixtures, "sample-a.opb"), join(project, "bank-nl-web.opb"));
});

test("installed from the tarball, it imports by name in Node and loads a bundle", () => {
  const script = `
    import { readFileSync } from "node:fs";
    import { Engine } from "opmaat";
    const engine = Engine.load(readFileSync("bank-nl-web.opb"), { trustedKeys: ${JSON.stringify(trusted)}, now: "2026-12-05T09:30:00Z" });
    console.log(JSON.stringify({ id: engine.bundleId, count: engine.propositionCount }));`;
  writeFileSync(join(project, "main.mjs"), script);
  const out = JSON.parse(execFileSync(process.execPath, ["main.mjs"], { cwd: project, encoding: "utf8" }));
  assert.deepEqual(out, { id: "bank-nl-web", count: 11 });
  const manifest = JSON.parse(readFileSync(join(project, "node_modules/opmaat/package.json"), "utf8"));
  assert.equal(manifest.exports["."].node.default, "./node.js");
  // The webview entry and its classic scripts are in the package, and the entry imports by name.
  writeFileSync(join(project, "webview.mjs"), `import { runWebview, PROTOCOL_VERSION } from "opmaat/webview";
    console.log(typeof runWebview, PROTOCOL_VERSION);`);
  assert.equal(execFileSync(process.execPath, ["webview.mjs"], { cwd: project, encoding: "utf8" }).trim(), "function 1");
  for (const file of ["webview.global.js", "opmaat_bg.wasm.js", "bridge.js", "lastgood.js", "webview.d.ts", "bridge.d.ts"]) {
    assert.ok(existsSync(join(project, "node_modules/opmaat", file)), `${file} is in the package`);
  }
});

test("installed from the tarball, the package README's quick start runs in Node as pasted", () => {
  const readme = readFileSync(join(project, "node_modules/opmaat/README.md"), "utf8");
  const example = readme.split("```js\n")[1].split("```")[0];
  writeFileSync(join(project, "quick-start.mjs"), example);
  const out = execFileSync(process.execPath, ["quick-start.mjs"], { cwd: project, encoding: "utf8" }).trim();
  assert.equal(out, example.match(/^\/\/ (bank-nl-web .*)$/m)[1]);
});

test("installed from the tarball, it loads in Chromium from a page without a bundler", async () => {
  writeFileSync(join(project, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><p id="out">loading</p>
    <script type="module">
      import { Engine, init } from "./node_modules/opmaat/browser.js";
      await init();
      const bytes = await (await fetch("bank-nl-web.opb")).arrayBuffer();
      try {
        const engine = Engine.load(bytes, { trustedKeys: ${JSON.stringify(trusted)}, now: "2026-12-05T09:30:00Z" });
        document.getElementById("out").textContent = engine.bundleId + " " + engine.propositionCount;
      } catch (e) { document.getElementById("out").textContent = "error " + e.code; }
    </script>`);
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const file = normalize(join(project, decodeURIComponent(req.url.split("?")[0])));
    if (!file.startsWith(project + sep)) return res.writeHead(403).end();
    try {
      const body = readFileSync(file.endsWith(sep) ? join(file, "index.html") : file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await page.waitForFunction(() => document.getElementById("out").textContent !== "loading");
    assert.equal(await page.textContent("#out"), "bank-nl-web 11");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});
