// Starts opmaat on a page: loads the engine only where WebAssembly exists, fetches the bundle with
// HTTP revalidation, and falls back to the last bundle that verified when the fetch or the
// verification fails. Importable everywhere: a browser without WebAssembly gets `null` and the
// page keeps its default content, never a blank slot. Should the engine ever trap, the call
// throws code "engine_trapped", `onError` hears of it, and the next call runs on a fresh
// instance with the same bundle (recover.js): the engine returned here keeps working.

const LAST_GOOD_KEY = "opmaat.bundle";
/** Largest bundle kept in localStorage as the last good one (base64 grows it by a third). */
const MAX_KEPT_BYTES = 2 * 1024 * 1024;

/**
 * @param {{ bundleUrl: string, trustedKeys: Record<string, string>, onError?: (e: Error) => void,
 *           storageKey?: string, loadOptions?: object }} options
 * @returns {Promise<{ opmaat: object, engine: object, fromLastGood: boolean } | null>}
 */
export async function start({ bundleUrl, trustedKeys, onError = (e) => console.warn("opmaat:", e.code ?? "", e.message), storageKey = LAST_GOOD_KEY, loadOptions = {} }) {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    onError(Object.assign(new Error("WebAssembly is not available: the page keeps its default content"), { code: "no_webassembly" }));
    return null;
  }
  let opmaat;
  try {
    opmaat = await import("./browser.js");
    opmaat.setOnError(onError);
  } catch (e) {
    onError(Object.assign(new Error(`the engine could not start: ${e.message}`), { code: "no_webassembly" }));
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
    onError(e.code ? e : Object.assign(e, { code: "fetch_failed" }));
  }
  if (!lastGood) return null;
  try {
    return { opmaat, engine: opmaat.Engine.load(lastGood.bytes, options()), fromLastGood: true };
  } catch (e) {
    onError(e); // the last good bundle expired, or the keys rotated past it
    return null;
  }
}

function readLastGood(key) {
  try {
    const stored = JSON.parse(localStorage.getItem(key) ?? "null");
    if (!stored || typeof stored.bundle !== "string") return null;
    return { version: stored.version, bytes: Uint8Array.from(atob(stored.bundle), (c) => c.charCodeAt(0)) };
  } catch {
    return null;
  }
}

function keepLastGood(key, bytes, version) {
  if (bytes.length > MAX_KEPT_BYTES) return;
  try {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    localStorage.setItem(key, JSON.stringify({ version, bundle: btoa(binary) }));
  } catch {
    // Storage full or disabled: the page works, only without a fallback.
  }
}
