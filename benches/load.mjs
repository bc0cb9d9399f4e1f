// Bundle load time in Wasm under Node: verify + decode + prepare, for the sample bundle signed by
// the native CLI (./build.sh bench makes the fixtures first) and synthetic bundles of 1,000 and
// 10,000 propositions; p50 over many loads in this process, and the first load in a fresh Node
// process (a page's cold start). Also the bundle's bytes per proposition and its gzip size (CDNs
// compress bundles). Reported, never asserted.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Engine } from "../pkg/node.js";

const root = new URL("../", import.meta.url).pathname;
const fixtures = join(root, "target/test-fixtures");
const keys = JSON.parse(readFileSync(join(fixtures, "keys.json"), "utf8"));
const options = { trustedKeys: { [keys.a.keyId]: keys.a.publicKey }, now: "2026-12-05T09:30:00Z" };

// A child process that loads one bundle once and prints how long the load took, in µs.
const FIRST_LOAD = `
  import { readFileSync } from "node:fs";
  const { Engine } = await import(process.argv[1]);
  const bytes = new Uint8Array(readFileSync(process.argv[2]));
  const options = JSON.parse(process.argv[3]);
  const t0 = process.hrtime.bigint();
  Engine.load(bytes, options);
  console.log(Number(process.hrtime.bigint() - t0) / 1000);
`;

function report(label, path, propositions, rounds) {
  const bytes = new Uint8Array(readFileSync(path));
  const first = Number(execFileSync(process.execPath, ["--input-type=module", "-e", FIRST_LOAD, join(root, "pkg/node.js"), path, JSON.stringify(options)]).toString());
  for (let i = 0; i < Math.min(rounds, 50); i++) Engine.load(bytes, options).free();
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    const engine = Engine.load(bytes, options);
    samples.push(Number(process.hrtime.bigint() - t0));
    engine.free();
  }
  samples.sort((a, b) => a - b);
  const at = (q) => (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] / 1e6).toFixed(2);
  const gz = gzipSync(bytes, { level: 9 }).length;
  console.log(
    `Engine.load of ${label} (${bytes.length} bytes, ${(bytes.length / propositions).toFixed(0)} bytes per proposition, ${gz} gzipped) in Wasm under Node: ` +
      `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms; first load in a fresh process ${(first / 1000).toFixed(2)} ms`,
  );
}

report("the sample bundle", join(fixtures, "sample-a.opb"), 11, 2000);
const dir = mkdtempSync(join(tmpdir(), "opmaat-load-"));
for (const [n, rounds] of [[1000, 300], [10000, 40]]) {
  const catalogue = join(dir, `c${n}.json`), bundle = join(dir, `c${n}.opb`);
  execFileSync(join(root, "target/debug/opmaat"), ["synth", "--propositions", String(n), "--seed", "42", "--out", catalogue]);
  execFileSync(join(root, "target/debug/opmaat"), ["build", catalogue, "--key", join(fixtures, "a.key"), "--out", bundle]);
  report(`a ${n}-proposition bundle`, bundle, n, rounds);
}
