// Seed corpora for the fuzz targets, made from the project's own test data: the sample
// catalogue, the personas' profiles, contexts and times, the GrowthBook suite's regexes, and the
// payloads of a bundle and of availability overlays the CLI signed. Writes fuzz/corpus/<target>/ (not committed); seeds
// already there are kept, and so is everything the fuzzer added.
//
//   node fuzz/seeds.mjs BUNDLE.opb [OVERLAY.opa…]
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const corpus = join(root, "fuzz", "corpus");

function seed(target, content) {
  const dir = join(corpus, target);
  mkdirSync(dir, { recursive: true });
  const bytes = typeof content === "string" ? Buffer.from(content) : content;
  const name = "seed-" + createHash("sha1").update(bytes).digest("hex").slice(0, 16);
  writeFileSync(join(dir, name), bytes);
}

const HEADER_LEN = 18;
const SIGNATURE_LEN = 64;
const [bundlePath, ...overlayPaths] = process.argv.slice(2);
if (bundlePath) {
  const bundle = readFileSync(bundlePath);
  seed("bundle_decode", bundle.subarray(HEADER_LEN, bundle.length - SIGNATURE_LEN));
}
for (const path of overlayPaths) {
  const overlay = readFileSync(path);
  seed("overlay", overlay.subarray(HEADER_LEN, overlay.length - SIGNATURE_LEN));
}

const catalogue = readFileSync(join(root, "www", "catalogue.json"), "utf8");
seed("catalogue_compile", catalogue);
const parsed = JSON.parse(catalogue);
seed("catalogue_compile", JSON.stringify({ ...parsed, propositions: parsed.propositions.slice(0, 2) }));

const personas = join(root, "tests", "personas");
for (const file of readdirSync(personas).filter((f) => f.endsWith(".json"))) {
  const persona = JSON.parse(readFileSync(join(personas, file), "utf8"));
  if (persona.profile) seed("profile", JSON.stringify(persona.profile));
  if (persona.now) seed("rfc3339", persona.now);
  for (const decision of persona.decisions ?? []) {
    if (decision.context) seed("context", JSON.stringify(decision.context));
  }
}
for (const time of ["2026-12-01T00:00:00Z", "2026-11-30T23:00:00.250-01:00", "2024-02-29T12:00:00+14:00"]) {
  seed("rfc3339", time);
}
seed("ledger", "");
seed("ledger", "L1.AAAA");

const cases = JSON.parse(readFileSync(join(root, "tests", "conformance", "growthbook-cases.json"), "utf8"));
for (const [, condition, attributes] of cases.evalCondition) {
  const text = JSON.stringify(condition);
  for (const match of text.matchAll(/"\$regexi?":"((?:[^"\\]|\\.)*)"/g)) {
    const pattern = JSON.parse(`"${match[1]}"`);
    const haystack = Object.values(attributes ?? {}).find((v) => typeof v === "string") ?? "";
    seed("regex_js", `${pattern}\0${haystack}`);
  }
}
seed("regex_js", "/[]*|\\bz\0/");
seed("regex_js", "^/products/\\d+/(detail|reviews)\0/products/12/detail");

// Measurement events, server-side conversions and counts as learn reads them; tokens after `#`.
const measured = {
  decisionId: "80d5f1863a635886", proposition: "green-savings", treatment: "a", holdout: false, event: "impression",
  time: "2026-12-05T09:30:00Z", bundle: "bank-nl-web", bundleVersion: 1, placement: "overview", position: 1,
  selectionProbability: 0.5, subject: "p-1",
};
seed("measurement", [measured, { ...measured, event: "click" }, { ...measured, event: "withheld", holdout: true, position: 0, subject: "p-2" }]
  .map((e) => JSON.stringify(e)).join("\n"));
seed("measurement", JSON.stringify({ subject: "p-2", proposition: "green-savings", time: "2026-12-05T10:00:00Z" }));
seed("measurement", JSON.stringify({ measure: "logged", proposition: "green-savings", treatment: "a", holdout: false, event: "click", day: "", n: 3, inverse_sum: 6, inverse_square_sum: 12 }));
seed("measurement", Buffer.concat([Buffer.from("#"), Buffer.from("AoDV8YY6Y1iGAAIAAIA_AQAAAAAAAAALYmFuay1ubC13ZWIIb3ZlcnZpZXcPc3BhYXItc3Bla3Rha2VsAWE", "base64url")]));

// Populations as simulate reads them: JSON Lines of snapshots and of {profile, context}, and the
// people file synth --people writes.
for (const file of readdirSync(personas).filter((f) => f.endsWith(".json"))) {
  const persona = JSON.parse(readFileSync(join(personas, file), "utf8"));
  if (!persona.profile) continue;
  const context = persona.decisions?.[0]?.context;
  seed("population", [JSON.stringify(persona.profile), JSON.stringify({ profile: persona.profile, context })].join("\n") + "\n");
  seed("population", JSON.stringify({ profiles: [persona.profile], contexts: [context ?? null] }));
}
