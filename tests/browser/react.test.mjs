// The package README's React example, as written: a page rendered on the server with
// react-dom/server (the hook's effect does not run there: the defaults), hydrated in headless
// Chromium by a development build of React (which reports any hydration mismatch as a console
// error), and then showing the decision's banners. The packed tarball is installed into a fresh
// project; esbuild (pinned) compiles the JSX and bundles the client.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join } from "node:path";
import { pathToFileURL } from "node:url";

import { root } from "../personas.mjs";
import { launchChromium } from "./harness.mjs";
import { installedProject } from "../tarball.mjs";

const ESBUILD = join(root, "node_modules/.bin/esbuild");
let project, browser;
before(() => {
  project = installedProject("opmaat-react-", "bank-react-site");
  // React itself from the repository's pinned devDependencies.
  for (const name of ["react", "react-dom", "scheduler"]) symlinkSync(join(root, "node_modules", name), join(project, "node_modules", name));
  const readme = readFileSync(join(project, "node_modules/opmaat/README.md"), "utf8");
  writeFileSync(join(project, "opmaat-react.jsx"), readme.split("```jsx\n")[1].split("```")[0]);
  const sample = readFileSync(join(project, "node_modules/opmaat/sample/index.js"), "utf8");
  const keys = sample.match(/sampleTrustedKeys = (\{.*\});/)[1];
  const snapshot = sample.match(/sampleSnapshot = (\{.*\});/)[1];
  writeFileSync(join(project, "app.jsx"), `import { OpMaatSlot, useDecision } from "./opmaat-react.jsx";
    export function App() {
      const decision = useDecision("overview", { bundleUrl: "/bank-nl-web.opb", trustedKeys: ${keys}, profile: ${snapshot},
        context: { page: "/overzicht" } });
      return <main>{[1, 2, 3].map((p) => <section key={p} className="slot"><OpMaatSlot decision={decision} position={p}><p>Default {p}</p></OpMaatSlot></section>)}</main>;
    }`);
  writeFileSync(join(project, "client.jsx"), `import { hydrateRoot } from "react-dom/client";
    import { App } from "./app.jsx";
    hydrateRoot(document.getElementById("root"), <App />);`);
  mkdirSync(join(project, "dist"));
  execFileSync(ESBUILD, ["client.jsx", "--bundle", "--format=esm", "--jsx=automatic", "--outfile=dist/client.js", "--define:process.env.NODE_ENV=\"development\"",
    "--log-override:empty-import-meta=silent", "--log-level=warning"], { cwd: project });
  execFileSync(ESBUILD, ["app.jsx", "--bundle", "--format=esm", "--platform=node", "--jsx=automatic", "--packages=external", "--outfile=server/app.mjs", "--log-level=warning"], { cwd: project });
  copyFileSync(join(project, "node_modules/opmaat/opmaat_bg.wasm"), join(project, "dist/opmaat_bg.wasm"));
  copyFileSync(join(project, "node_modules/opmaat/sample/bank-nl-web.opb"), join(project, "dist/bank-nl-web.opb"));
});
after(() => browser?.close());

test("React: server-rendered defaults, hydrated without a mismatch, then the decision's banners", async () => {
  const { renderToString } = await import(pathToFileURL(join(project, "node_modules/react-dom/server.node.js")).href);
  const { createElement } = await import(pathToFileURL(join(project, "node_modules/react/index.js")).href);
  const { App } = await import(pathToFileURL(join(project, "server/app.mjs")).href);
  const ssr = renderToString(createElement(App));
  assert.match(ssr, /Default (<!-- -->)?1.*Default (<!-- -->)?2.*Default (<!-- -->)?3/s, "the server renders the defaults");
  writeFileSync(join(project, "dist/index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><div id="root">${ssr}</div><script type="module" src="/client.js"></script>`);
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const file = join(project, "dist", req.url === "/" ? "index.html" : req.url.slice(1));
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  browser ??= await launchChromium();
  const context = await browser.newContext();
  await context.clock.setFixedTime(new Date("2026-12-05T09:30:00Z"));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => (m.type() === "error" || m.type() === "warning") && errors.push(m.text()));
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForSelector('[data-opmaat-proposition="phishing-tips"]');
    const shown = await page.$$eval("[data-opmaat-proposition]", (els) => els.map((e) => e.getAttribute("data-opmaat-proposition")));
    assert.deepEqual(shown, ["student-13th-month", "rijksmuseum", "phishing-tips"]);
    assert.deepEqual(errors, [], "no hydration mismatch, no error");
  } finally {
    await context.close();
    server.close();
  }
});
