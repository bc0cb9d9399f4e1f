// Node entry: instantiates the module from the package's own .wasm file, once, at import.
import { readFileSync } from "node:fs";
import { initSync } from "./opmaat.js";

initSync({ module: readFileSync(new URL("./opmaat_bg.wasm", import.meta.url)) });

export * from "./opmaat.js";
