// The app webview's entry (`opmaat/webview`): Op Maat offers on a screen of the bank's app, with
// no network at all. Everything comes from the app: the Wasm (a WebAssembly.Module, its bytes, or
// their base64), the signed bundle (bytes, or base64 in the bridge's `init` message), the trusted
// keys, the bank-signed profile snapshot, the context and the ledger it keeps for the customer.
// Nothing is fetched, so the page works from `file://`, an `appassets` host or a custom scheme.
//
// `runWebview` is the whole page: it connects the bridge (bridge.js) to the app, waits for `init`,
// loads the bundle (falling back to the last one that verified on this device when a new one is
// refused), checks the snapshot — **signed by the bank, always**: the app checks it, and so does
// the page — decides the placements, renders them (render.js), and hands every response back to
// the app with the ledger after it and, with the customer's analytics consent, the measurement
// events the app forwards when it is online. Whatever goes wrong, the page keeps its default
// content and the app hears why in an `error` message.
//
// In a webview loaded from `file://`, module scripts are refused (their origin is "null"):
// load `webview.global.js` with a classic <script> instead; it defines `window.opmaat` with the
// same exports, and `opmaat_bg.wasm.js` beside it defines `window.opmaatWasm`, the Wasm as base64.
import * as bindings from "./opmaat.js";
import { recovering } from "./recover.js";
import { connectBridge } from "./bridge.js";
import { fromBase64, keepLastGood, readLastGood } from "./lastgood.js";
import { formFactorFor, renderSlots } from "./render.js";

export { ADAPTERS, PROTOCOL_VERSION, checkIncoming, connectBridge } from "./bridge.js";
export { COMPACT_BREAKPOINT, TOKEN_PARAMETER, formFactorFor, renderSlots } from "./render.js";

const LAST_GOOD_KEY = "opmaat.webview.bundle";
/** Where the page keeps its own copy of the ledger, merged with the app's on every `init`. */
const LEDGER_KEY = "opmaat.webview.ledger";

/** The engine's classes, once instantiated (a promise: two callers never instantiate twice). */
let classes = null;

/** An Error with the engine's shape: name "OpmaatError" and a stable `code`. */
function coded(code, message) {
  return Object.assign(new Error(message), { name: "OpmaatError", code });
}

/**
 * Instantiates the engine from what the app hands in — a `WebAssembly.Module`, the `.wasm`'s
 * bytes (`ArrayBuffer`, `Uint8Array`) or their base64 text — once; never fetches. Resolves to
 * `{ Engine, Profile, setOnError }`. Rejects with code `no_webassembly`.
 */
export function initWasm(wasm) {
  classes ??= instantiate(wasm).catch((e) => {
    classes = null; // another try may hand in something better
    throw e;
  });
  return classes;
}

async function instantiate(wasm) {
  if (typeof WebAssembly !== "object") throw coded("no_webassembly", "WebAssembly is not available in this webview");
  let source = wasm;
  try {
    if (typeof source === "string") source = fromBase64(source);
  } catch {
    throw coded("no_webassembly", "wasm: not base64 text");
  }
  const usable = source instanceof WebAssembly.Module || source instanceof ArrayBuffer || ArrayBuffer.isView(source);
  if (!usable) throw coded("no_webassembly", "wasm: expected a WebAssembly.Module, the .wasm's bytes or their base64");
  try {
    await bindings.default({ module_or_path: source });
  } catch (e) {
    throw coded("no_webassembly", `the engine could not start: ${e.message}`);
  }
  return recovering(bindings);
}

/**
 * Loads the bundle the app handed in (bytes), keeping it as the last good one, or falls back to
 * the last good one when it is refused. Profiles must be signed by one of `profileKeys`.
 * Resolves to `{ opmaat, engine, fromLastGood }`, or null (and `onError` heard why).
 */
export async function startWebview({ wasm, bundle, trustedKeys, profileKeys, onError = warn, storage = globalThis.localStorage, storageKey = LAST_GOOD_KEY, loadOptions = {} }) {
  let opmaat;
  try {
    opmaat = await initWasm(wasm);
    opmaat.setOnError(onError);
  } catch (e) {
    onError(e);
    return null;
  }
  const lastGood = readLastGood(storageKey, storage);
  const options = (minVersion) => ({ trustedKeys, profileKeys, requireSignedProfiles: true, ...loadOptions, ...(minVersion ? { minVersion } : {}) });
  if (bundle !== undefined && bundle !== null) {
    try {
      const bytes = bundle instanceof Uint8Array ? bundle : new Uint8Array(bundle);
      const engine = opmaat.Engine.load(bytes, options(lastGood?.version));
      keepLastGood(storageKey, bytes, engine.version, storage);
      return { opmaat, engine, fromLastGood: false };
    } catch (e) {
      onError(e.code ? e : coded("invalid_argument", `bundle: ${e.message}`));
    }
  }
  if (!lastGood) {
    if (bundle === undefined || bundle === null) onError(coded("no_bundle", "the app handed in no bundle and none was kept on this device"));
    return null;
  }
  try {
    return { opmaat, engine: opmaat.Engine.load(lastGood.bytes, options()), fromLastGood: true };
  } catch (e) {
    onError(e);
    return null;
  }
}

/**
 * The webview page: connects to the app, and on its `init` decides `placements` and renders them
 * into `root`. `wasm`, `trustedKeys`, `profileKeys` as for `startWebview`; `bundle` (bytes) unless
 * the app sends it in `init`. Resolves once the bridge is connected to
 * `{ adapter, decisions(), close() }`, or null outside any app.
 */
export async function runWebview({
  wasm, bundle, trustedKeys, profileKeys, placements, root = globalThis.document, win = globalThis, adapter, onError = warn,
  storage = globalThis.localStorage, labels, now,
}) {
  let started = null; // { opmaat, engine }
  let profile = null;
  let ledger;
  let context = {};
  let wanted = placements;
  let decisions = [];
  let bridge = null;
  const report = (e, inReplyTo) => {
    onError(e);
    bridge?.send("error", { code: e?.code ?? "failed", message: String(e?.message ?? e), ...(inReplyTo !== undefined ? { inReplyTo } : {}) });
  };
  const keepLocal = (value) => {
    try {
      storage.setItem(LEDGER_KEY, value);
    } catch {
      // Storage off: the app's copy is the memory.
    }
  };
  const store = {
    get: () => ledger,
    set: (value) => {
      ledger = value;
      keepLocal(value);
    },
  };
  const decideAndRender = () => {
    if (!started || !profile) return;
    const { engine } = started;
    decisions = engine.decideAllFor(profile, { placements: wanted, ledger, context: { formFactor: formFactorFor(win), ...context }, ...(now ? { now } : {}) });
    for (const decision of decisions) {
      const { problems } = renderSlots(decision, root, {
        engine, profile, store, labels,
        onResponse: (r) => bridge.send("response", { event: r.event, token: r.token, proposition: r.proposition, recorded: r.recorded, ledger: r.ledger, measurement: r.measurement }),
      });
      for (const problem of problems) report(coded("render", problem));
    }
    bridge.send("decided", { placements: decisions.map((d) => ({
      placement: d.placement.id, decisionId: d.decisionId, bundleVersion: d.bundleVersion,
      slots: d.slots.map((s) => ({ position: s.position, proposition: s.proposition, token: s.token })), warnings: d.warnings,
      measurement: d.measurement ?? [],
    })) });
  };
  const onMessage = async (message) => {
    if (message.type === "init") {
      if (message.placements) wanted = message.placements;
      if (!wanted?.length) return report(coded("invalid_argument", "placements: none to decide (give them to runWebview or in init)"), message.id);
      // A bundle in `init` replaces the one in use (it is verified first; a refused one keeps it).
      if (!started || message.bundle) {
        let bytes = bundle;
        if (message.bundle) {
          try {
            bytes = fromBase64(message.bundle);
          } catch {
            return report(coded("bad_message", "bundle: not base64"), message.id);
          }
        }
        const next = await startWebview({ wasm, bundle: bytes, trustedKeys, profileKeys, onError: (e) => report(e, message.id), storage });
        if (!next) return;
        if (started && started.engine !== next.engine) started.engine.free();
        started = next;
      }
      const previous = profile;
      try {
        profile = started.engine.profile(message.snapshot);
      } catch (e) {
        profile = null;
        return report(e, message.id); // unsigned or tampered: the defaults stay
      } finally {
        previous?.free();
      }
      context = message.context ?? {};
      // The app's memory and the page's own: one memory, no event counted twice.
      ledger = started.engine.mergeLedgers(message.ledger, readLocal(storage));
      keepLocal(ledger);
      decideAndRender();
      bridge.send("ledger", { ledger });
    } else if (!started || !profile) {
      report(coded("not_ready", `a ${message.type} message before a successful init`), message.id);
    } else if (message.type === "ledger") {
      ledger = started.engine.mergeLedgers(ledger, message.ledger);
      keepLocal(ledger);
      decideAndRender();
      bridge.send("ledger", { ledger });
    } else if (message.type === "context") {
      context = message.context;
      decideAndRender();
    } else if (message.type === "convert") {
      const recorded = started.engine.recordFor(profile, ledger, { event: "convert", token: message.token });
      ledger = recorded.ledger;
      keepLocal(ledger);
      bridge.send("response", { event: "convert", token: message.token, recorded: recorded.recorded, ledger, measurement: recorded.measurement });
    }
  };
  // The engine compiles while the app gets its message ready (a failure is reported at init).
  initWasm(wasm).catch(() => {});
  // Messages are handled one at a time, in the order they came.
  let queue = Promise.resolve();
  bridge = connectBridge({
    win, adapter,
    onMessage: (message) => {
      queue = queue.then(() => onMessage(message)).catch((e) => report(e, message.id));
    },
  });
  if (!bridge) {
    onError(coded("no_bridge", "no app around this page: no platform bridge found"));
    return null;
  }
  bridge.send("ready", { protocol: 1 });
  return {
    adapter: bridge.adapter,
    decisions: () => decisions,
    /** Resolves once every message received so far is handled. */
    settled: () => queue,
    close: () => bridge.close(),
  };
}

function readLocal(storage) {
  try {
    return storage.getItem(LEDGER_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function warn(e) {
  console.warn("opmaat:", e.code ?? "", e.message);
}
