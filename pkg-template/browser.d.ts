export type * from "./engine.js";
export { Engine, Profile } from "./engine.js";
/** What is told of every trap of the engine; see `Recovering.setOnError` (`start` sets its `onError`). */
export declare const setOnError: import("./recover.js").Recovering["setOnError"];
/**
 * Instantiates the engine, once: from the .wasm beside the entry, or from `wasm` (its URL — a
 * bundler's `?url` import —, a `Response`, its bytes, or a compiled `WebAssembly.Module`). Until
 * it resolves every call throws code "not_initialised". Rejects with code "fetch_failed" or
 * "no_webassembly".
 */
export declare function init(wasm?: string | URL | Response | ArrayBuffer | Uint8Array | WebAssembly.Module): Promise<void>;
export { Beacon, BeaconOptions, MeasurementEvent } from "./beacon.js";
export { COMPACT_BREAKPOINT, TOKEN_PARAMETER, LedgerStore, RecordedResponse, RenderOptions, formFactorFor, localStorageLedger, renderSlots } from "./render.js";
