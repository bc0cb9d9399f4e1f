export * from "./opmaat.js";
export { Beacon, BeaconOptions, MeasurementEvent } from "./beacon.js";
