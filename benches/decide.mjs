// `decide` in Wasm under Node on synthetic catalogues of 100, 1,000 and 10,000 propositions
// (3–6 targeting clauses each, 3 slots), varied profiles and contexts, against the reference a
// page could write instead: the same conditions compiled to plain JavaScript closures
// (benches/closures.mjs), matching only, timed in this same process. Profiles are checked once
// (engine.profile), as a page does; each decision includes the context's crossing into Wasm and
// the decision's way back as a JS object. Reported, never asserted. Run by ./build.sh bench.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../pkg/node.js";
import { matcher } from "./closures.mjs";

const root = new URL("../", import.meta.url).pathname;
const cli = join(root, "target/debug/opmaat");
const fixtures = join(root, "target/test-fixtures");
const keys = JSON.parse(readFileSync(join(fixtures, "keys.json"), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "opmaat-bench-"));
const PEOPLE = 64;
const NOW = "2026-12-05T09:30:00Z";
const PLACEMENT = "overview";

/** p50 and p99 of `run(i)` in µs, after a warm-up. */
function time(rounds, run) {
  for (let i = 0; i < Math.min(rounds, 500); i++) run(i);
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    run(i);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

const f = (x) => x.toFixed(1);
for (const [n, rounds] of [[100, 5000], [1000, 2000], [10000, 200]]) {
  const catalogue = join(dir, `c${n}.json`), people = join(dir, `p${n}.json`), bundle = join(dir, `c${n}.opb`);
  execFileSync(cli, ["synth", "--propositions", String(n), "--seed", "42", "--out", catalogue, "--people", String(PEOPLE), "--people-out", people]);
  execFileSync(cli, ["build", catalogue, "--key", join(fixtures, "a.key"), "--out", bundle]);
  const engine = Engine.load(readFileSync(bundle), { trustedKeys: { [keys.a.keyId]: keys.a.publicKey }, now: NOW });
  const { profiles, contexts } = JSON.parse(readFileSync(people, "utf8"));
  const handles = profiles.map((p) => engine.profile(p));
  const decide = (i, trace) => engine.decideFor(handles[i % PEOPLE], { placement: PLACEMENT, context: contexts[i % PEOPLE], now: NOW, trace });

  // The reference sees what opmaat's conditions see: the profile's attributes and the context.
  const json = JSON.parse(readFileSync(catalogue, "utf8"));
  const channel = json.placements.find((p) => p.id === PLACEMENT).channel;
  const match = matcher(json, channel);
  const attributes = profiles.map((p, i) => {
    const c = contexts[i];
    const context = { channel, placement: PLACEMENT, page: c.page, topic: c.topic, locale: c.locale, language: c.locale.slice(0, 2), formFactor: c.formFactor, now: NOW, loggedIn: p.loggedIn };
    return { ...p.attributes, id: p.id, context };
  });

  const wasm = time(rounds, (i) => decide(i, false));
  const closures = time(rounds, (i) => match(attributes[i % PEOPLE]));
  const traced = time(rounds, (i) => decide(i, true));
  console.log(
    `${n} propositions (${readFileSync(bundle).length} byte bundle): decide in Wasm p50 ${f(wasm.p50)} µs (p99 ${f(wasm.p99)}); ` +
      `plain-JS closures, matching only, p50 ${f(closures.p50)} µs (p99 ${f(closures.p99)}): Wasm is ${(closures.p50 / wasm.p50).toFixed(2)}× the closures' speed; ` +
      `with trace p50 ${f(traced.p50)} µs (${(traced.p50 / wasm.p50).toFixed(2)}× without)`,
  );
}
