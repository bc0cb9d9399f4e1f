// The package's declarations in a Node project: `@types/node`, `lib` es2022 without the DOM,
// strict. Checked by `tsc --noEmit` in ./build.sh test (the browser project is ../usage.ts).
import { readFileSync } from "node:fs";
import { Engine, init, setOnError, type Decision, type ErrorCode, type OpmaatError } from "opmaat";

await init();
setOnError((e: OpmaatError) => console.warn(e.code));
const engine = Engine.load(readFileSync("bank-nl-web.opb"), { trustedKeys: {}, now: "2026-12-05T09:30:00Z" });
const decision: Decision = engine.decide({ placement: "overview", profile: {}, trace: true });
const code: ErrorCode = "not_initialised";
const merged: string = engine.mergeLedgers(undefined, undefined);
engine.free();
void [decision.slots.length, code, merged];
