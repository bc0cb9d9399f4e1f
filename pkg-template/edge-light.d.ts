export type * from "./engine.js";
export { Engine, Profile } from "./engine.js";
/** What is told of every trap of the engine; see `Recovering.setOnError`. */
export declare const setOnError: import("./recover.js").Recovering["setOnError"];
/** The engine is instantiated at import in this entry: resolves at once (code written for the browser entry runs unchanged). */
export declare function init(): Promise<void>;
