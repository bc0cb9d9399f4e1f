// The package in the other JavaScript runtimes whose binaries the npm registry carries, Deno and
// Bun (pinned devDependencies): the packed tarball installed into a fresh project, the package
// README's quick start run there as pasted, printing what the README says.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { root } from "../personas.mjs";
import { installedProject } from "../tarball.mjs";

let project, promised;
before(() => {
  project = installedProject("opmaat-runtimes-", "bank-service");
  const readme = readFileSync(join(project, "node_modules/opmaat/README.md"), "utf8");
  const example = readme.split("```js\n")[1].split("```")[0];
  promised = example.match(/^\/\/ (bank-nl-web .*)$/m)[1];
  writeFileSync(join(project, "quick-start.mjs"), example);
});

test("Deno runs the quick start", () => {
  const out = execFileSync(join(root, "node_modules/.bin/deno"), ["run", "--quiet", "--allow-read", "--allow-env", "--no-prompt", "quick-start.mjs"],
    { cwd: project, encoding: "utf8", env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } });
  assert.equal(out.trim(), promised);
});

test("Bun runs the quick start", () => {
  const out = execFileSync(join(root, "node_modules/.bin/bun"), ["run", "quick-start.mjs"], { cwd: project, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  assert.equal(out.trim(), promised);
});

test("in Bun and Deno, start reports an unreachable bundle as fetch_failed, not the runtime's own code", () => {
  writeFileSync(join(project, "unreachable.mjs"), `import { start } from "opmaat/start";
    const errors = [];
    const started = await start({ bundleUrl: "http://127.0.0.1:9/bank.opb", trustedKeys: {}, onError: (e) => errors.push(e.code) });
    console.log(JSON.stringify({ started, errors }));`);
  const expected = { started: null, errors: ["fetch_failed"] };
  const bun = execFileSync(join(root, "node_modules/.bin/bun"), ["run", "unreachable.mjs"], { cwd: project, encoding: "utf8" });
  assert.deepEqual(JSON.parse(bun.trim().split("\n").at(-1)), expected);
  const deno = execFileSync(join(root, "node_modules/.bin/deno"), ["run", "--quiet", "--allow-read", "--allow-env", "--allow-net=127.0.0.1", "--no-prompt", "unreachable.mjs"],
    { cwd: project, encoding: "utf8", env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } });
  assert.deepEqual(JSON.parse(deno.trim().split("\n").at(-1)), expected);
});
