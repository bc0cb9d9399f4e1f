// Starts opmaat on a page: loads the engine only where WebAssembly exists, fetches the bundle with
// HTTP revalidation, and falls back to the last bundle that verified when the fetch or the
// verification fails. Importable everywhere: a browser without WebAssembly gets `null` and the
// page keeps its default content, never a blank slot. Should the engine ever trap, the call
// throws code "engine_trapped", `onError` hears of it, and the next call runs on a fresh
// instance with the same bundle (recover.js): the engine returned here keeps working.
//
// With `overlayUrl`, the availability overlay (live stock and pauses) is fetched beside the
// bundle and revalidated every `overlayRevalidateSeconds` while the page is open (HTTP
// revalidation: an unchanged overlay costs no transfer and is not applied again); each new one
// that verifies is applied and `onOverlay` is told, so the page can decide again. The last one
// applied is kept in localStorage for the next page when the network is down. A 404 means none
// is published: not an error. A refused overlay leaves the one in use (and `onError` hears why).

import { fromBase64, keepLastGood, readLastGood, toBase64 } from "./lastgood.js";

const LAST_GOOD_KEY = "opmaat.bundle";
/** How often an open page asks for a new availability overlay, by default. */
const DEFAULT_OVERLAY_REVALIDATE_SECONDS = 60;

/**
 * @param {{ bundleUrl: string, trustedKeys: Record<string, string>, onError?: (e: Error) => void,
 *           storageKey?: string, loadOptions?: object }} options
 * @returns {Promise<{ opmaat: object, engine: object, fromLastGood: boolean } | null>}
 */
export async function start({
  bundleUrl, trustedKeys, onError = (e) => console.warn("opmaat:", e.code ?? "", e.message), storageKey = LAST_GOOD_KEY, loadOptions = {},
  overlayUrl = null, overlayRevalidateSeconds = DEFAULT_OVERLAY_REVALIDATE_SECONDS, onOverlay = () => {}, wasm,
}) {
  const started = await startEngine({ bundleUrl, trustedKeys, onError, storageKey, loadOptions, wasm });
  if (!started) return null;
  return { ...started, ...(await followOverlay(started.engine, { overlayUrl, overlayRevalidateSeconds, onOverlay, onError, storageKey })) };
}

async function startEngine({ bundleUrl, trustedKeys, onError, storageKey, loadOptions, wasm }) {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    onError(Object.assign(new Error("WebAssembly is not available: the page keeps its default content"), { code: "no_webassembly" }));
    return null;
  }
  let opmaat;
  try {
    opmaat = await import("./browser.js");
    opmaat.setOnError(onError);
    await opmaat.init(wasm ?? (await ownWasmOutsideBrowsers()));
  } catch (e) {
    // init's own codes: "fetch_failed" (the .wasm could not be fetched), "no_webassembly".
    onError(e.name === "OpmaatError" ? e : Object.assign(new Error(`the engine could not start: ${e.message}`, { cause: e }), { code: "no_webassembly" }));
    return null;
  }
  const lastGood = readLastGood(storageKey);
  const options = (minVersion) => ({ trustedKeys, ...loadOptions, ...(minVersion ? { minVersion } : {}) });
  try {
    const response = await fetch(bundleUrl, { cache: "no-cache" });
    if (!response.ok) throw Object.assign(new Error(`fetching ${bundleUrl}: HTTP ${response.status}`), { code: "fetch_failed" });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const engine = opmaat.Engine.load(bytes, options(lastGood?.version));
    keepLastGood(storageKey, bytes, engine.version);
    return { opmaat, engine, fromLastGood: false };
  } catch (e) {
    onError(asFetchFailure(e, bundleUrl));
  }
  if (!lastGood) return null;
  try {
    return { opmaat, engine: opmaat.Engine.load(lastGood.bytes, options()), fromLastGood: true };
  } catch (e) {
    onError(e); // the last good bundle expired, or the keys rotated past it
    return null;
  }
}

/**
 * Applies the availability overlay at `overlayUrl` to `engine` now and every
 * `overlayRevalidateSeconds` after; returns `refreshOverlay()` (fetch and apply now: the summary of
 * a newly applied overlay, else null) and `stop()` (no more revalidation).
 */
async function followOverlay(engine, { overlayUrl, overlayRevalidateSeconds, onOverlay, onError, storageKey }) {
  if (!overlayUrl) return { refreshOverlay: async () => null, stop() {} };
  const key = `${storageKey}.overlay`;
  let applied = null; // the bytes in use, as base64
  let unreachable = false; // the last fetch failed (not a 404: that is "none published")
  const apply = (bytes, encoded, fromStorage) => {
    const summary = engine.applyOverlay(bytes);
    applied = encoded;
    if (!fromStorage) {
      try {
        localStorage.setItem(key, encoded);
      } catch {
        // Storage full or disabled: the next page starts without it.
      }
    }
    try {
      onOverlay(summary);
    } catch (e) {
      onError(Object.assign(e instanceof Error ? e : new Error(String(e)), { code: e?.code ?? "on_overlay_failed" }));
    }
    return summary;
  };
  const refreshOverlay = async () => {
    unreachable = false;
    try {
      const response = await fetch(overlayUrl, { cache: "no-cache" });
      if (response.status === 404) return null; // none published
      if (!response.ok) throw Object.assign(new Error(`fetching ${overlayUrl}: HTTP ${response.status}`), { code: "fetch_failed" });
      const bytes = new Uint8Array(await response.arrayBuffer());
      const encoded = toBase64(bytes);
      if (encoded === applied) return null; // revalidated: nothing new
      return apply(bytes, encoded, false);
    } catch (e) {
      const failure = asFetchFailure(e, overlayUrl);
      unreachable = failure.code === "fetch_failed";
      onError(failure);
      return null;
    }
  };
  await refreshOverlay();
  if (applied === null && unreachable) {
    // Offline: the last overlay this device applied, while it is still valid.
    const kept = readStored(key);
    if (kept) {
      try {
        apply(fromBase64(kept), kept, true);
      } catch {
        // Expired or for another bundle: the catalogue's own stock applies.
      }
    }
  }
  let timer = setInterval(refreshOverlay, 1000 * overlayRevalidateSeconds);
  timer.unref?.(); // Node: revalidation never keeps the process alive
  return {
    refreshOverlay,
    stop() {
      clearInterval(timer);
      timer = null;
    },
  };
}

function readStored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/**
 * The engine's error as it is; anything else (a network error: Node's "fetch failed", Bun's
 * ECONNREFUSED, a browser's TypeError) as code "fetch_failed", with the original as its cause.
 */
function asFetchFailure(e, url) {
  if (e?.name === "OpmaatError" || e?.code === "fetch_failed") return e;
  return Object.assign(new Error(`fetching ${url}: ${e?.message ?? e}`, { cause: e }), { name: "OpmaatError", code: "fetch_failed" });
}

/**
 * Outside browsers (Node, Deno, Bun), where a file: URL cannot be fetched, the package's own
 * .wasm read from disk; in a browser undefined (init fetches it). The module name is a variable
 * so that bundlers leave it alone.
 */
async function ownWasmOutsideBrowsers() {
  if (typeof document !== "undefined" || typeof process !== "object" || !process.versions?.node) return undefined;
  const fs = "node:fs/promises";
  const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fs);
  return readFile(new URL("./opmaat_bg.wasm", import.meta.url));
}
