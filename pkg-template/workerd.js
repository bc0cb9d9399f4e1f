// Edge-worker entry (workerd, Cloudflare Workers): workers may not compile Wasm from bytes at run
// time, so the module is imported statically and instantiated once per isolate.
import module from "./opmaat_bg.wasm";
import { initSync } from "./opmaat.js";

initSync({ module });

export * from "./opmaat.js";
