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

/** `actual` has everything `shown` shows: "…" stands for anything, arrays for some of their items, numbers as rounded. */
function shows(shown, actual, path = "decision") {
  if (shown === "…") return;
  if (Array.isArray(shown)) {
    assert.ok(Array.isArray(actual), `${path}: the README shows an array`);
    shown.forEach((item, i) => {
      const matches = actual.some((a) => { try { shows(item, a); return true; } catch { return false; } });
      assert.ok(matches, `${path}[${i}]: the README shows ${JSON.stringify(item)}, the decision has none such`);
    });
  } else if (typeof shown === "object" && shown !== null) {
    if (Object.keys(shown).length === 1 && shown["…"] === "…") return;
    for (const [key, value] of Object.entries(shown)) {
      assert.ok(actual !== null && typeof actual === "object" && key in actual, `${path}.${key}: shown in the README, absent from the decision`);
      shows(value, actual[key], `${path}.${key}`);
    }
  } else if (typeof shown === "number") {
    assert.ok(Math.abs(shown - actual) <= 0.005 * Math.max(1, Math.abs(actual)), `${path}: the README says ${shown}, the decision ${actual}`);
  } else {
    assert.equal(actual, shown, path);
  }
}

test("the README's JavaScript decision example runs, and its decision is the one the README shows", () => {
  const readme = readFileSync(new URL("README.md", root), "utf8");
  const example = readme.split("```js\n").slice(1).map((b) => b.split("```")[0]).find((b) => b.includes("engine.decide({"));
  // The pensioner of the Rust example above it, and the page's own things the text leaves to the reader.
  const snapshot = JSON.parse(readme.match(/engine\.parse_profile\(r#"([\s\S]*?)"#\)/)[1]);
  const keys = JSON.parse(readFileSync(new URL("keys.json", fixtures), "utf8"));
  const prelude = `
    import { readFileSync } from "node:fs";
    import { Engine } from ${JSON.stringify(new URL("pkg/node.js", root).href)};
    const engine = Engine.load(readFileSync(${JSON.stringify(new URL("sample-a.opb", fixtures).pathname)}),
      { trustedKeys: { ${JSON.stringify(keys.a.keyId)}: ${JSON.stringify(keys.a.publicKey)} }, now: "2026-12-05T09:30:00Z" });
    const snapshot = ${JSON.stringify(snapshot)};
    const context = { page: "/sparen", locale: "nl-NL" };
    const localStorage = { getItem: () => null };
    const storedLedger = undefined;
    const sent = [];
    const beacon = { send: (events) => sent.push(...events) };
  `;
  const epilogue = `\nconsole.log(JSON.stringify({ decision, overview, app, overviewAgain, agent, ledger, sent }));`;
  const dir = mkdtempSync(join(tmpdir(), "opmaat-readme-decide-"));
  writeFileSync(join(dir, "decide.mjs"), prelude + example + epilogue);
  const out = JSON.parse(execFileSync(process.execPath, ["decide.mjs"], { cwd: dir, encoding: "utf8" }));
  // The JSON the README shows is what that call returns, trace and all.
  const shown = JSON.parse(readme.split("```json\n").map((b) => b.split("```")[0]).find((b) => b.includes('"decisionId"')));
  shows(shown, out.decision);
  assert.ok(out.decision.trace.length > 0);
  // The calls without `trace: true` return none, as the README says.
  assert.deepEqual([out.overview.trace, out.agent.trace], [[], []]);
  assert.match(readme, /Without `trace: true` its `trace` is empty/);
  assert.equal(out.overview.slots.length, 3);
  assert.ok(out.ledger.length > 0);
  assert.equal(out.sent.length, 1, "the dismissal measured: the pensioner gave analytics consent");
});
