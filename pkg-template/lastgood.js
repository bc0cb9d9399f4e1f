// The last bundle that verified, kept on the device (localStorage, or a store of the host's): the
// fallback of `start` and of the webview entry when a new bundle cannot be fetched or is refused.

/** Largest bundle kept as the last good one (base64 grows it by a third). */
const MAX_KEPT_BYTES = 2 * 1024 * 1024;

/** The kept bundle under `key` of `storage`, or null. */
export function readLastGood(key, storage = globalThis.localStorage) {
  try {
    const stored = JSON.parse(storage.getItem(key) ?? "null");
    if (!stored || typeof stored.bundle !== "string") return null;
    return { version: stored.version, bytes: fromBase64(stored.bundle) };
  } catch {
    return null;
  }
}

/** Keeps `bytes` (a bundle that verified, of `version`) under `key`; quietly does nothing when it cannot. */
export function keepLastGood(key, bytes, version, storage = globalThis.localStorage) {
  if (bytes.length > MAX_KEPT_BYTES) return;
  try {
    storage.setItem(key, JSON.stringify({ version, bundle: toBase64(bytes) }));
  } catch {
    // Storage full or disabled: the page works, only without a fallback.
  }
}

export function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
