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

/** Every persona decision: { name, placement, profile, context, now, native }. */
export function personaDecisions() {
  const dir = join(root, "tests", "personas");
  const scratch = mkdtempSync(join(tmpdir(), "opmaat-personas-"));
  const out = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    const persona = JSON.parse(readFileSync(join(dir, file), "utf8"));
    persona.decisions.forEach((d, i) => {
      const profileFile = join(scratch, `${file}-${i}-profile.json`);
      const contextFile = join(scratch, `${file}-${i}-context.json`);
      writeFileSync(profileFile, JSON.stringify(persona.profile));
      writeFileSync(contextFile, JSON.stringify(d.context ?? {}));
      const native = JSON.parse(execFileSync(join(root, "target", "debug", "opmaat"), [
        "decide", "--bundle", bundleFile, "--pub", keys.a.publicKey, "--placement", d.placement,
        "--profile", profileFile, "--context", contextFile, "--now", d.now ?? persona.now, "--json",
      ], { encoding: "utf8" }));
      out.push({ name: `${persona.persona} / ${d.placement}`, placement: d.placement, profile: persona.profile,
        context: d.context ?? {}, now: d.now ?? persona.now, expectedSlots: d.slots, native });
    });
  }
  return out;
}
