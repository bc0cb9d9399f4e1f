// Browser entry: no top-level await and no bundler magic. Import it anywhere; `await init()`
// instantiates the engine once — from the .wasm beside this file, or from what the page hands in
// (a URL, a Response, the bytes, a WebAssembly.Module: what a bundler's `?url` import or the
// page's own fetch gives). Until then every call throws code "not_initialised". The Engine and
// Profile carry on after a trap (recover.js; setOnError hears of it). `start` (opmaat/start)
// calls `init` itself.
import * as bindings from "./opmaat.js";
import { recovering } from "./recover.js";

let instantiated = false;
let instantiating = null;

export const { Engine, Profile, setOnError } = recovering(bindings, { initialised: () => instantiated });

/**
 * Instantiates the engine, once (later calls get the same promise). Rejects with code
 * "fetch_failed" when the .wasm cannot be fetched, "no_webassembly" when it cannot be compiled.
 */
export function init(wasm) {
  instantiating ??= instantiate(wasm ?? new URL("./opmaat_bg.wasm", import.meta.url)).catch((e) => {
    instantiating = null; // a later call may try again, or with another source
    throw e;
  });
  return instantiating;
}

async function instantiate(source) {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    throw coded("no_webassembly", "WebAssembly is not available here");
  }
  let input = source;
  if (typeof input === "string" || input instanceof URL) {
    try {
      input = await fetch(input);
    } catch (e) {
      throw coded("fetch_failed", `the engine (${source}) could not be fetched: ${e.message}`);
    }
  }
  if (typeof Response === "function" && input instanceof Response && !input.ok) {
    throw coded("fetch_failed", `the engine (${input.url || source}) could not be fetched: HTTP ${input.status}`);
  }
  try {
    await bindings.default({ module_or_path: input });
  } catch (e) {
    throw coded("no_webassembly", `the engine could not start: ${e.message}`);
  }
  instantiated = true;
}

function coded(code, message) {
  return Object.assign(new Error(message), { name: "OpmaatError", code });
}

export { Beacon } from "./beacon.js";
export { COMPACT_BREAKPOINT, TOKEN_PARAMETER, formFactorFor, localStorageLedger, renderSlots } from "./render.js";
