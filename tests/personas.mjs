// The personas of tests/personas/, each decision made natively by the `opmaat` CLI from the
// bundle the CLI signed earlier in this run: what the Wasm suites must reproduce exactly.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../", import.meta.url));
export const fixtures = join(root, "target", "test-fixtures");
export const keys = JSON.parse(readFileSync(join(fixtures, "keys.json"), "utf8"));
export const trustedKeys = { [keys.a.keyId]: keys.a.publicKey };
export const bundleFile = join(fixtures, "sample-a.opb");

/** Every persona fixture, in file order, with its file name (without `.json`) as `file`. */
export function personas() {
  const dir = join(root, "tests", "personas");
  return readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
    .map((f) => ({ file: f.replace(/\.json$/, ""), ...JSON.parse(readFileSync(join(dir, f), "utf8")) }));
}

/** The native CLI's decision (with its trace) for one placement, from the bundle of this run. */
export function nativeDecision({ placement, profile, context = {}, now, ledger, bundle = bundleFile }) {
  const scratch = mkdtempSync(join(tmpdir(), "opmaat-native-"));
  const file = (name, text) => {
    writeFileSync(join(scratch, name), text);
    return join(scratch, name);
  };
  return JSON.parse(execFileSync(join(root, "target", "debug", "opmaat"), [
    "decide", "--bundle", bundle, "--pub", keys.a.publicKey, "--placement", placement,
    "--profile", file("profile.json", JSON.stringify(profile)), "--context", file("context.json", JSON.stringify(context)),
    ...(ledger ? ["--ledger", file("ledger.txt", ledger)] : []), "--now", now, "--json",
  ], { encoding: "utf8" }));
}

/** Every persona decision: { name, placement, profile, context, now, native }. */
export function personaDecisions() {
  return personas().flatMap((persona) => persona.decisions.map((d) => {
    const request = { placement: d.placement, profile: persona.profile, context: d.context ?? {}, now: d.now ?? persona.now };
    return { name: `${persona.persona} / ${d.placement}`, ...request, expectedSlots: d.slots, native: nativeDecision(request) };
  }));
}
