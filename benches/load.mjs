// Bundle load time in Wasm under Node: verify + decode + prepare of the sample bundle signed by
// the native CLI (./build.sh bench makes the fixtures first). Reported, never asserted.
import { readFileSync } from "node:fs";
import { Engine } from "../pkg/node.js";

const fixtures = new URL("../target/test-fixtures/", import.meta.url);
const keys = JSON.parse(readFileSync(new URL("keys.json", fixtures), "utf8"));
const bytes = new Uint8Array(readFileSync(new URL("sample-a.opb", fixtures)));
const options = { trustedKeys: { [keys.a.keyId]: keys.a.publicKey }, now: "2026-12-05T09:30:00Z" };
const ROUNDS = 2000;
for (let i = 0; i < 200; i++) Engine.load(bytes, options).free();
const samples = [];
for (let i = 0; i < ROUNDS; i++) {
  const t0 = process.hrtime.bigint();
  const engine = Engine.load(bytes, options);
  samples.push(Number(process.hrtime.bigint() - t0));
  engine.free();
}
samples.sort((a, b) => a - b);
const at = (q) => (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] / 1000).toFixed(1);
console.log(`Engine.load of the ${bytes.length}-byte sample bundle in Wasm under Node: p50 ${at(0.5)} µs, p99 ${at(0.99)} µs`);
