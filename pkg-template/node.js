// Node entry: instantiates the module from the package's own .wasm file, once, at import, and
// exports the Engine and Profile that carry on after a trap (recover.js; setOnError hears of it).
import { readFileSync } from "node:fs";
import * as bindings from "./opmaat.js";
import { recovering } from "./recover.js";

bindings.initSync({ module: readFileSync(new URL("./opmaat_bg.wasm", import.meta.url)) });

export const { Engine, Profile, setOnError } = recovering(bindings);

/** The engine is instantiated at import here; `init` resolves at once, so code written for the
 * browser entry (`await init()`) runs unchanged. */
export const init = () => Promise.resolve();
