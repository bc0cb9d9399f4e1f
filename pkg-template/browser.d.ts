export type * from "./opmaat.js";
export { Engine, Profile } from "./opmaat.js";
/** What is told of every trap of the engine; see `Recovering.setOnError` (`start` sets its `onError`). */
export declare const setOnError: import("./recover.js").Recovering["setOnError"];
export { Beacon, BeaconOptions, MeasurementEvent } from "./beacon.js";
export { COMPACT_BREAKPOINT, TOKEN_PARAMETER, LedgerStore, RenderOptions, formFactorFor, localStorageLedger, renderSlots } from "./render.js";
