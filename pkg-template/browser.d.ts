export * from "./opmaat.js";
export { Beacon, BeaconOptions, MeasurementEvent } from "./beacon.js";
export { COMPACT_BREAKPOINT, TOKEN_PARAMETER, LedgerStore, RenderOptions, formFactorFor, localStorageLedger, renderSlots } from "./render.js";
