// The README's JavaScript example, run as written against the built package and the bundle the
// native CLI signed earlier in this run. Only the import specifier is pointed at pkg/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url);
const fixtures = new URL("target/test-fixtures/", root);

test("the README's JavaScript example runs and prints what it says", () => {
  const readme = readFileSync(new URL("README.md", root), "utf8");
  const example = readme.split("```js\n")[1].split("```")[0];
  const dir = mkdtempSync(join(tmpdir(), "opmaat-readme-"));
  const keys = JSON.parse(readFileSync(new URL("keys.json", fixtures), "utf8"));
  copyFileSync(new URL("sample-a.opb", fixtures), join(dir, "bank-nl-web.opb"));
  writeFileSync(join(dir, "trusted-keys.json"), JSON.stringify({ [keys.a.keyId]: keys.a.publicKey }));
  const script = example.replace('from "opmaat"', `from ${JSON.stringify(new URL("pkg/node.js", root).href)}`);
  writeFileSync(join(dir, "example.mjs"), script);
  const output = execFileSync(process.execPath, ["example.mjs"], { cwd: dir, encoding: "utf8" });
  const promised = example.match(/\/\/ (bank-nl-web 1 11)/)[1];
  assert.equal(output.trim(), promised);
});
