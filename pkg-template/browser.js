// Browser entry: streams and instantiates the .wasm next to this file, once, at import.
import init from "./opmaat.js";

await init({ module_or_path: new URL("./opmaat_bg.wasm", import.meta.url) });

export * from "./opmaat.js";
export { Beacon } from "./beacon.js";
export { COMPACT_BREAKPOINT, TOKEN_PARAMETER, formFactorFor, localStorageLedger, renderSlots } from "./render.js";
