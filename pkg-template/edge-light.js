// Vercel Edge Functions entry (condition "edge-light"): like the workerd entry, the module is
// imported statically (Vercel's edge runtime gives Wasm through a `?module` import) and
// instantiated once per isolate; after a trap the isolate carries on with a fresh instance.
import module from "./opmaat_bg.wasm?module";
import * as bindings from "./opmaat.js";
import { recovering } from "./recover.js";

bindings.initSync({ module });

export const { Engine, Profile, setOnError } = recovering(bindings);

/** The engine is instantiated at import here; `init` resolves at once. */
export const init = () => Promise.resolve();
