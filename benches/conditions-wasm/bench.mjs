// Conditions benchmark: 1,000 GrowthBook conditions of realistic shape (3–6 clauses: segments,
// holdings, bands, page regex, versions) against one profile per decision, in opmaat's Wasm and
// in GrowthBook's own JS SDK, in this one Node process. Every decision's results are compared,
// so the two engines are checked to agree before their times are.
//
// Run by `./build.sh bench`. Times are reported, never asserted: the machine is shared.
import { readFileSync } from "node:fs";
import { evalCondition } from "@growthbook/growthbook";

const dir = new URL("../../target/bench-conditions/", import.meta.url);
const { initSync, Conditions } = await import(new URL("opmaat_bench_conditions.js", dir));
initSync({ module: readFileSync(new URL("opmaat_bench_conditions_bg.wasm", dir)) });

const COUNT = 1000;
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 2000);
const WARMUP = 200;

const segments = ["young", "student", "family", "senior", "premium", "starter", "private_banking"];
const pages = ["^/(sparen|savings)/", "^/hypotheek/(aflossen|oversluiten)", "^/betalen/[a-z]+/?$", "/producten/\\d+(/|$)"];
function condition(i) {
  const clauses = [
    { segments: { $in: [segments[i % 7], segments[(i + 3) % 7]] } },
    { age: { $gte: 18 + (i % 20), $lt: 60 + (i % 15) } },
    { "context.page": { $regex: pages[i % pages.length] } },
  ];
  if (i % 2 === 0) clauses.push({ holdings: { $elemMatch: { type: "mortgage", balance: { $gt: 1000 * (i % 5) } } } });
  if (i % 3 === 0) clauses.push({ "context.appVersion": { $vgte: `2.${i % 4}.0` } });
  if (i % 4 === 0) clauses.push({ income_band: { $in: ["B", "C", "D"] }, in_arrears: { $ne: true } });
  return { $and: clauses };
}
const conditions = Array.from({ length: COUNT }, (_, i) => condition(i));

const pagePool = ["/sparen/groen", "/hypotheek/aflossen", "/betalen/pas", "/producten/12/", "/help"];
function profile(i) {
  return {
    segments: [segments[i % 7], "premium"], age: 25 + (i % 50), income_band: "BCDE"[i % 4], in_arrears: i % 11 === 0,
    holdings: [{ type: "savings", balance: 1200 + i }, { type: "mortgage", balance: 250000 - i }],
    context: { page: pagePool[i % pagePool.length], appVersion: `2.${i % 5}.${i % 3}` },
  };
}
const profiles = Array.from({ length: DECISIONS + WARMUP }, (_, i) => profile(i));

const compiled = Conditions.compile(JSON.stringify(conditions));

function wasmDecision(attrs) {
  return compiled.decide(JSON.stringify(attrs)); // the crossing is part of the decision
}
function jsDecision(attrs) {
  const out = new Uint8Array(COUNT);
  for (let i = 0; i < COUNT; i++) out[i] = evalCondition(attrs, conditions[i]) ? 1 : 0;
  return out;
}

// Agreement first: every condition, every profile.
let matches = 0;
for (const attrs of profiles) {
  const a = wasmDecision(attrs), b = jsDecision(attrs);
  for (let i = 0; i < COUNT; i++) {
    if (a[i] !== b[i]) throw new Error(`engines disagree on condition ${i}: ${JSON.stringify(conditions[i])} for ${JSON.stringify(attrs)}`);
    matches += a[i];
  }
}

function time(run) {
  for (let i = 0; i < WARMUP; i++) run(profiles[i]);
  const samples = [];
  for (let i = WARMUP; i < profiles.length; i++) {
    const t0 = process.hrtime.bigint();
    run(profiles[i]);
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  samples.sort((x, y) => x - y);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { p50: at(0.5), p99: at(0.99) };
}
const wasm = time(wasmDecision);
const js = time(jsDecision);
const fmt = (r) => `p50 ${(r.p50 / 1000).toFixed(1)} µs (${(r.p50 / COUNT).toFixed(0)} ns/condition), p99 ${(r.p99 / 1000).toFixed(1)} µs`;
console.log(`${COUNT} conditions × ${DECISIONS} decisions, engines agree on all ${COUNT * profiles.length} results (${matches} matches)`);
console.log(`opmaat Wasm (JSON crossing included): ${fmt(wasm)}`);
console.log(`GrowthBook JS SDK evalCondition:      ${fmt(js)}`);
console.log(`speed-up at p50: ${(js.p50 / wasm.p50).toFixed(1)}×`);
