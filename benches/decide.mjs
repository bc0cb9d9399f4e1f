// `decide` in Wasm under Node on synthetic catalogues of 100, 1,000 and 10,000 propositions
// (3–6 targeting clauses each, 3 slots), varied profiles and contexts. Profiles are checked once
// (engine.profile), as a page does; each decision includes the context's crossing into Wasm and
// the decision's way back as a JS object. Reported, never asserted. Run by ./build.sh bench.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../pkg/node.js";

const root = new URL("../", import.meta.url).pathname;
const cli = join(root, "target/debug/opmaat");
const fixtures = join(root, "target/test-fixtures");
const keys = JSON.parse(readFileSync(join(fixtures, "keys.json"), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "opmaat-bench-"));
const PEOPLE = 64;
const NOW = "2026-12-05T09:30:00Z";

for (const [n, rounds] of [[100, 5000], [1000, 2000], [10000, 200]]) {
  const catalogue = join(dir, `c${n}.json`), people = join(dir, `p${n}.json`), bundle = join(dir, `c${n}.opb`);
  execFileSync(cli, ["synth", "--propositions", String(n), "--seed", "42", "--out", catalogue, "--people", String(PEOPLE), "--people-out", people]);
  execFileSync(cli, ["build", catalogue, "--key", join(fixtures, "a.key"), "--out", bundle]);
  const engine = Engine.load(readFileSync(bundle), { trustedKeys: { [keys.a.keyId]: keys.a.publicKey }, now: NOW });
  const { profiles, contexts } = JSON.parse(readFileSync(people, "utf8"));
  const handles = profiles.map((p) => engine.profile(p));
  const decide = (i) => engine.decideFor(handles[i % PEOPLE], { placement: "overview", context: contexts[i % PEOPLE], now: NOW });
  for (let i = 0; i < Math.min(rounds, 500); i++) decide(i);
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    decide(i);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))].toFixed(1);
  console.log(`decide in Wasm under Node, ${n} propositions (${readFileSync(bundle).length} byte bundle): p50 ${at(0.5)} µs, p99 ${at(0.99)} µs`);
}
