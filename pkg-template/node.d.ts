export type * from "./opmaat.js";
export { Engine, Profile } from "./opmaat.js";
/** What is told of every trap of the engine; see `Recovering.setOnError`. */
export declare const setOnError: import("./recover.js").Recovering["setOnError"];
