// The npm package as front-end developers meet it: the packed tarball installed into small fresh
// projects, each built by a bundler (Vite, current and previous major; webpack 5; Rollup 4;
// esbuild), the built page served and run in headless Chromium, where it decides a placement from
// the package's sample bundle. The bundlers are the repository's pinned devDependencies; nothing
// is downloaded. Where a bundler cannot emit the .wasm (and the sample bundle) by itself, the page
// uses the one line the package's README documents for it. Also: arethetypeswrong and publint on
// the tarball, with no finding. The bytes each build ships are printed (gzip and brotli).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { extname, join, normalize, sep } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

import { root } from "../personas.mjs";
import { installedProject, tarball } from "../tarball.mjs";
import { launchChromium } from "./harness.mjs";

const BIN = join(root, "node_modules");
const EXPECTED = "student-13th-month,rijksmuseum,phishing-tips";
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".opb": "application/octet-stream" };

/** The page's script; `head` is what a bundler needs (its one line), `wasm`/`bundle` the expressions init and load use. */
const main = ({ head = "", wasm = "undefined", bundle = "await sampleBundle()" } = {}) => `${head}
import { Engine, init } from "opmaat";
import { sampleBundle, sampleNow, sampleSnapshot, sampleTrustedKeys } from "opmaat/sample";
(async () => {
  try {
    await init(${wasm});
    const engine = Engine.load(${bundle}, { trustedKeys: sampleTrustedKeys, now: sampleNow });
    const decision = engine.decide({ placement: "overview", profile: sampleSnapshot, now: sampleNow });
    document.body.dataset.shown = decision.slots.map((s) => s.proposition).join(",");
  } catch (e) {
    document.body.dataset.shown = "error " + (e.code ?? e.message);
  }
})();
void sampleBundle;
`;
const html = (script) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>bundled</title><script type="module" src="${script}"></script>`;

/** Each bundler: how its project is made and built; `dist` is what gets served. */
const BUNDLERS = {
  "vite 8": { build: (dir) => vite(dir, "vite8") },
  "vite 7": { build: (dir) => vite(dir, "vite7") },
  "webpack 5": {
    build(dir) {
      writeFileSync(join(dir, "src/main.js"), main());
      writeFileSync(join(dir, "webpack.config.mjs"), `export default { mode: "production", entry: "./src/main.js",
        output: { path: new URL("./dist", import.meta.url).pathname, filename: "main.js", publicPath: "auto" } };`);
      execFileSync(process.execPath, [join(BIN, "webpack-cli/bin/cli.js"), "--config", "webpack.config.mjs"], { cwd: dir, stdio: "pipe" });
      writeFileSync(join(dir, "dist/index.html"), html("./main.js"));
    },
  },
  "rollup 4": {
    build(dir) {
      writeFileSync(join(dir, "src/main.js"), main());
      // The one line Rollup needs: the import-meta-assets plugin emits the .wasm and the sample bundle.
      writeFileSync(join(dir, "rollup.config.mjs"), `import { nodeResolve } from ${JSON.stringify(join(BIN, "@rollup/plugin-node-resolve/dist/es/index.js"))};
        import { importMetaAssets } from ${JSON.stringify(join(BIN, "@web/rollup-plugin-import-meta-assets/src/rollup-plugin-import-meta-assets.js"))};
        export default { input: "src/main.js", output: { dir: "dist", format: "es" }, plugins: [nodeResolve({ browser: true }), importMetaAssets()] };`);
      execFileSync(process.execPath, [join(BIN, "rollup/dist/bin/rollup"), "-c", "rollup.config.mjs"], { cwd: dir, stdio: "pipe" });
      writeFileSync(join(dir, "dist/index.html"), html("./main.js"));
    },
  },
  "esbuild": {
    build(dir) {
      // The one line esbuild needs: --loader:.wasm=file (and .opb for the sample), imported as URLs.
      writeFileSync(join(dir, "src/main.js"), main({
        head: `import wasmUrl from "opmaat/opmaat_bg.wasm";\nimport sampleUrl from "opmaat/sample/bank-nl-web.opb";`,
        wasm: "wasmUrl", bundle: "new Uint8Array(await (await fetch(sampleUrl)).arrayBuffer())",
      }));
      execFileSync(join(BIN, ".bin/esbuild"), ["src/main.js", "--bundle", "--format=esm", "--outdir=dist", "--loader:.wasm=file", "--loader:.opb=file",
        "--log-override:empty-import-meta=silent", "--log-level=warning"], { cwd: dir, stdio: "pipe" });
      writeFileSync(join(dir, "dist/index.html"), html("./main.js"));
    },
  },
};

function vite(dir, which) {
  writeFileSync(join(dir, "src/main.js"), main());
  writeFileSync(join(dir, "index.html"), html("/src/main.js"));
  execFileSync(process.execPath, [join(BIN, which, "bin/vite.js"), "build", "--logLevel", "warn"], { cwd: dir, stdio: "pipe" });
}

let browser;
after(() => browser?.close());

function project(name) {
  const dir = installedProject(`opmaat-${name.replace(/\s/g, "-")}-`);
  mkdirSync(join(dir, "src"), { recursive: true });
  return dir;
}

/** Serves `dir`; resolves to { url, close }. */
async function serve(dir) {
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url, "http://x").pathname)));
    const file = path.endsWith(sep) ? join(path, "index.html") : path;
    try {
      if (!file.startsWith(dir) || !statSync(file).isFile()) throw new Error("not found");
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(readFileSync(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

function shipped(dir) {
  const files = [];
  const walk = (d) => readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(join(d, e.name)) : files.push(join(d, e.name))));
  walk(dir);
  const sum = (f) => files.reduce((n, file) => n + f(readFileSync(file)), 0);
  return {
    files: files.length, raw: sum((b) => b.length), gzip: sum((b) => gzipSync(b, { level: 9 }).length),
    brotli: sum((b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length),
  };
}

for (const [name, bundler] of Object.entries(BUNDLERS)) {
  test(`${name}: the built page decides a placement in Chromium`, async () => {
    const dir = project(name);
    bundler.build(dir);
    const dist = join(dir, "dist");
    const { url, close } = await serve(dist);
    browser ??= await launchChromium();
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    try {
      await page.goto(url);
      await page.waitForFunction(() => document.body?.dataset.shown);
      assert.equal(await page.evaluate(() => document.body.dataset.shown), EXPECTED);
      assert.deepEqual(errors, []);
      console.log(JSON.stringify({ bundler: name, shipped: shipped(dist) }));
    } finally {
      await page.close();
      close();
    }
  });
}

test("TypeScript, strict, in a fresh browser project (default lib) and a Node project (@types/node, no DOM): the tarball's declarations compile", () => {
  const dir = project("typescript");
  symlinkSync(join(BIN, "@types"), join(dir, "node_modules/@types"));
  writeFileSync(join(dir, "browser.ts"), `import { Engine, init, renderSlots, type Decision, type ErrorCode } from "opmaat";
    import { start } from "opmaat/start";
    import { runWebview } from "opmaat/webview";
    import { sampleBundle, sampleTrustedKeys } from "opmaat/sample";
    await init();
    const engine = Engine.load(await sampleBundle(), { trustedKeys: sampleTrustedKeys });
    const decision: Decision = engine.decide({ placement: "overview" });
    renderSlots(decision, document, { engine });
    const code: ErrorCode = "not_initialised";
    void [start, runWebview, code];`);
  writeFileSync(join(dir, "node.ts"), `import { Engine, init, type Decision } from "opmaat";
    import { sampleBundle, sampleTrustedKeys } from "opmaat/sample";
    await init();
    const decision: Decision = Engine.load(await sampleBundle(), { trustedKeys: sampleTrustedKeys }).decide({ placement: "overview" });
    void decision;`);
  const tsc = (config) => {
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: "es2022", ...config.options }, files: [config.file] }));
    execFileSync(process.execPath, [join(BIN, "typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
  };
  tsc({ file: "browser.ts", options: { module: "esnext", moduleResolution: "bundler", types: [] } });
  tsc({ file: "node.ts", options: { module: "nodenext", moduleResolution: "nodenext", lib: ["es2022"], types: ["node"] } });
});

test("arethetypeswrong and publint find nothing in the tarball", () => {
  // ESM only, by design (the CommonJS resolutions are out of its profile); the asset exports
  // (the .wasm, the sample bundle, the webview's classic scripts) are files, not modules.
  execFileSync(process.execPath, [join(BIN, "@arethetypeswrong/cli/dist/index.js"), tarball(), "--profile", "esm-only",
    "--exclude-entrypoints", "opmaat_bg.wasm", "sample/bank-nl-web.opb", "webview.global.js", "opmaat_bg.wasm.js"], { stdio: "pipe" });
  const publint = execFileSync(process.execPath, [join(BIN, "publint/src/cli.js"), "--strict", join(root, "pkg")], { encoding: "utf8" });
  assert.match(publint, /All good!/);
});
