// Browser entry: streams and instantiates the .wasm next to this file, once, at import, and
// exports the Engine and Profile that carry on after a trap (recover.js; setOnError hears of it).
import * as bindings from "./opmaat.js";
import { recovering } from "./recover.js";

await bindings.default({ module_or_path: new URL("./opmaat_bg.wasm", import.meta.url) });

export const { Engine, Profile, setOnError } = recovering(bindings);
export { Beacon } from "./beacon.js";
export { COMPACT_BREAKPOINT, TOKEN_PARAMETER, formFactorFor, localStorageLedger, renderSlots } from "./render.js";
