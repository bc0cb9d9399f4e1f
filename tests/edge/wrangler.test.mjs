// www/edge/wrangler.toml as a bank's edge team uses it: copied with the worker into a fresh
// project that installs the package (the packed tarball), checked and bundled by wrangler 3
// (pinned; wrangler 4 needs Node 22) with `deploy --dry-run`, which uploads nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

import { root } from "../personas.mjs";
import { installedProject } from "../tarball.mjs";

test("wrangler deploy --dry-run bundles the worker with the package from node_modules", () => {
  const project = installedProject("opmaat-wrangler-", "bank-edge");
  for (const file of ["worker.js", "banner.js", "visitor.js", "wrangler.toml"]) copyFileSync(join(root, "www/edge", file), join(project, file));
  const out = execFileSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", "dist"], {
    cwd: project, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
  });
  assert.match(out, /--dry-run: exiting now/);
  const files = readdirSync(join(project, "dist"));
  const wasm = files.find((f) => f.endsWith(".wasm"));
  assert.ok(wasm && existsSync(join(project, "dist", "worker.js")), files.join());
  console.log(JSON.stringify({ wrangler: out.match(/Total Upload: .*/)?.[0], wasmBytes: statSync(join(project, "dist", wasm)).size }));
});
