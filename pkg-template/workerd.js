// Edge-worker entry (workerd, Cloudflare Workers): workers may not compile Wasm from bytes at run
// time, so the module is imported statically and instantiated once per isolate. After a trap
// the isolate carries on with a fresh instance of the same module (recover.js; setOnError hears
// of it), so one bad request never leaves the isolate serving from a damaged engine.
import module from "./opmaat_bg.wasm";
import * as bindings from "./opmaat.js";
import { recovering } from "./recover.js";

bindings.initSync({ module });

export const { Engine, Profile, setOnError } = recovering(bindings);

/** The engine is instantiated at import here; `init` resolves at once, so code written for the
 * browser entry (`await init()`) runs unchanged. */
export const init = () => Promise.resolve();
