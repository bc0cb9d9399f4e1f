// The package's Engine and Profile, shared by every host entry: the wasm-bindgen classes behind
// a thin layer that starts a fresh Wasm instance after a trap instead of serving from a damaged
// one (the workers-rs pattern).
//
// Nothing the engine is given should trap: every export returns a coded error. Should a trap
// happen all the same (a bug, memory exhausted), it leaves the instance damaged: the shadow
// stack pointer and wasm-bindgen's borrows are never given back, and a few hundred traps ruin it
// for good. So when a call throws anything but the engine's own coded error:
//   1. that call throws an Error with code "engine_trapped" (its `cause` is what escaped);
//   2. the instance is replaced by a fresh one of the same compiled module;
//   3. the error is reported to the `setOnError` callback;
//   4. every Engine and Profile made before carries on: an Engine loads its bundle again (the
//      same bytes, the same options) and a Profile is checked again from its snapshot, on their
//      first use after the trap. A reload that fails (the bundle expired meanwhile, when no
//      `now` was given) is reported once and thrown, with its own code, by every later call.
// The price: each Engine keeps a copy of its bundle's bytes and each Profile its snapshot text.
//
// These classes also guard what the bindings cannot: a freed handle, or something else where a
// Profile belongs, is an `invalid_argument` error here instead of wasm-bindgen's uncoded one;
// `free()` twice is a no-op, and `free()` from inside a call (a getter of the caller's) waits
// for the call to end.

/** The code of the error a call that trapped throws. */
const ENGINE_TRAPPED = "engine_trapped";
/** The name of every error the engine throws (src/wasm/convert.rs sets it too). */
const ERROR_NAME = "OpmaatError";
/** Marks a Profile, so the engine can tell one put where a snapshot belongs (src/wasm/convert.rs). */
const PROFILE_HANDLE = Symbol.for("opmaat.Profile");
/** Lets only this module construct the classes. */
const INTERNAL = Symbol("opmaat.internal");

/** An Error as the engine makes them: name "OpmaatError", a `code`, and optionally a `cause`. */
function engineError(code, message, cause) {
  const error = cause === undefined ? new Error(message) : new Error(message, { cause });
  error.name = ERROR_NAME;
  error.code = code;
  return error;
}

/** Whether `e` is an error the engine threw on purpose (rather than something that escaped). */
function isEngineError(e) {
  return e instanceof Error && e.name === ERROR_NAME && typeof e.code === "string";
}

const defaultOnError = (e) => console.warn("opmaat:", e.code, e.message);

/** What `recovering` made for each bindings module: one per instance, whichever entry asks. */
const made = new WeakMap();

/**
 * The recovering `Engine` and `Profile` over one instance of the bindings (`import * as bindings
 * from "./opmaat.js"`), and `setOnError` to be told of traps. Every entry that asks for the same
 * bindings gets the same classes: one instance, one count of its restarts. `initialised` says
 * whether the bindings' Wasm is instantiated yet; until it is, every call throws code
 * "not_initialised" (the browser entry instantiates on `init()`, not at import).
 */
export function recovering(bindings, { initialised = () => true } = {}) {
  if (!made.has(bindings)) made.set(bindings, recoveringOnce(bindings, initialised));
  return made.get(bindings);
}

/** The error of a call made before the entry instantiated the engine (browser: `await init()`). */
const NOT_INITIALISED = "not_initialised";

function recoveringOnce(bindings, initialised) {
  if (typeof bindings.__wbg_reset_state !== "function") {
    throw new TypeError("opmaat: the bindings were built without --experimental-reset-state-function");
  }
  /** How many fresh instances were started: a handle made under an older one is made again. */
  let generation = 0;
  /** Calls into Wasm in progress: a getter of the caller's may call in again from inside one. */
  let depth = 0;
  /** What trapped, while the instance waits to be replaced. */
  let trapped = null;
  let onError = defaultOnError;

  function report(error) {
    try {
      onError?.(error);
    } catch {
      // A failing callback must not stop the recovery it is told about.
    }
  }

  function trappedError(cause) {
    return engineError(ENGINE_TRAPPED,
      `the engine trapped (${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}); ` +
      "the next call runs on a fresh instance", cause);
  }

  /** Replaces the instance, once no call is left on the old one's stack. */
  function replaceInstance() {
    try {
      bindings.__wbg_reset_state();
    } catch (e) {
      report(engineError(ENGINE_TRAPPED, `a fresh instance could not be started: ${e?.message ?? e}`, e));
      return; // `trapped` stays set: the next call tries again
    }
    generation += 1;
    trapped = null;
  }

  /** Runs `fn`, which calls into Wasm, turning anything but a coded error into a recovery. */
  function enter(fn) {
    if (!initialised()) {
      throw engineError(NOT_INITIALISED, "the engine is not instantiated yet: `await init()` (from \"opmaat\") first, or use `start` from \"opmaat/start\"");
    }
    if (trapped !== null) {
      if (depth > 0) throw trappedError(trapped); // still inside the call that trapped
      replaceInstance();
      if (trapped !== null) throw trappedError(trapped);
    }
    depth += 1;
    let result;
    let failure;
    let failed = false;
    try {
      result = fn();
    } catch (e) {
      failed = true;
      failure = e;
    }
    depth -= 1;
    if (failed && trapped === null && !isEngineError(failure)) {
      trapped = failure;
      const error = trappedError(failure);
      if (depth === 0) replaceInstance();
      report(error);
      throw error;
    }
    if (trapped !== null) {
      // A nested call trapped: what this one computed came from a damaged instance.
      const error = trappedError(trapped);
      if (depth === 0) replaceInstance();
      throw error;
    }
    if (failed) throw failure;
    return result;
  }

  /**
   * Runs `use(inner)` on a handle's current inner object, freeing it afterwards if that was asked
   * for meanwhile. `caller` is the Engine handle of the call, for a Profile to be made again by.
   */
  function using(handle, use, caller) {
    handle.busy += 1;
    try {
      return use(handle.inner(caller));
    } finally {
      handle.busy -= 1;
      if (handle.freed && handle.busy === 0) handle.release();
    }
  }

  /** The state of one handle: its inner wasm-bindgen object, made again after a trap. */
  class Handle {
    constructor(inner, remake, what) {
      this.current = inner;
      this.generation = generation;
      this.remake = remake;
      this.what = what;
      this.busy = 0;
      this.freed = false;
      this.remakeFailure = null;
    }

    inner(caller) {
      if (this.freed) throw engineError("invalid_argument", `this ${this.what} was freed; make a new one`);
      if (this.generation !== generation) {
        if (this.remakeFailure?.generation === generation) throw this.remakeFailure.error;
        this.current = null; // it lived in the old instance's memory, which is gone
        try {
          this.current = this.remake(caller);
        } catch (e) {
          if (!isEngineError(e)) throw e; // trapped again: `enter` recovers
          const error = engineError(e.code, `this ${this.what} could not be made again after the engine trapped: ${e.message}`, e);
          this.remakeFailure = { generation, error };
          report(error);
          throw error;
        }
        this.generation = generation;
      }
      return this.current;
    }

    free() {
      if (this.freed) return;
      this.freed = true;
      if (this.busy === 0) this.release();
    }

    release() {
      const inner = this.current;
      this.current = null;
      // An inner object of an older instance went with its memory (`enter` may start a new one).
      if (inner) enter(() => this.generation === generation && inner.free());
    }
  }

  let handleOf; // an Engine's Handle; undefined for anything else
  let profileState; // a Profile's { handle, id, loggedIn }; undefined for anything else

  /** Runs `use` on the inner object of `engine`, which must be an Engine (methods may be `call`ed). */
  function callOn(engine, use) {
    const handle = handleOf(engine);
    if (!handle) throw engineError("invalid_argument", "this: expected an Engine made by Engine.load");
    return enter(() => using(handle, use));
  }

  /** A verified bundle, ready to decide from. */
  class Engine {
    #handle;

    /** @private Engines come from `Engine.load`. */
    constructor(token, handle) {
      if (token !== INTERNAL) throw engineError("invalid_argument", "Engine: use Engine.load(bytes, options)");
      this.#handle = handle;
    }

    static {
      handleOf = (value) => (typeof value === "object" && value !== null && #handle in value ? value.#handle : undefined);
    }

    /** Verifies and loads a bundle; see the bindings' `Engine.load`. */
    static load(bytes, options) {
      const copy = copyOfBytes(bytes);
      return enter(() => {
        // The copy, which is what a reload will load: the caller may change theirs later.
        const inner = bindings.Engine.load(copy ?? bytes, options);
        if (copy === undefined) {
          inner.free();
          throw engineError("invalid_argument", "bytes: expected a Uint8Array or an ArrayBuffer with the bundle");
        }
        const again = inner.__loadOptions();
        const handle = new Handle(inner, () => {
          const fresh = bindings.Engine.load(copy, again);
          // The availability overlay in use goes with it, checked at the time it was applied.
          if (handle.overlay) {
            try {
              fresh.applyOverlay(handle.overlay.bytes, { now: handle.overlay.now });
            } catch (e) {
              if (!isEngineError(e)) throw e;
              handle.overlay = null;
              report(engineError(e.code, `the availability overlay could not be applied again after the engine trapped: ${e.message}`, e));
            }
          }
          return fresh;
        }, "Engine");
        handle.overlay = null; // { bytes, now } of the overlay in use
        return new Engine(INTERNAL, handle);
      });
    }

    /** Verifies an availability overlay and puts it in the place of the one in use; see the bindings. */
    applyOverlay(bytes, options) {
      const copy = copyOfBytes(bytes);
      const handle = handleOf(this);
      return callOn(this, (e) => {
        const now = (typeof options === "object" && options !== null ? options.now : undefined) ?? Date.now();
        const summary = e.applyOverlay(copy ?? bytes, options === undefined ? { now } : options);
        handle.overlay = { bytes: copy, now };
        return summary;
      });
    }

    get overlay() { return callOn(this, (e) => e.overlay); }

    get bundleId() { return callOn(this, (e) => e.bundleId); }
    get version() { return callOn(this, (e) => e.version); }
    get keyId() { return callOn(this, (e) => e.keyId); }
    get issuedAt() { return callOn(this, (e) => e.issuedAt); }
    get notBefore() { return callOn(this, (e) => e.notBefore); }
    get expiresAt() { return callOn(this, (e) => e.expiresAt); }
    get propositionCount() { return callOn(this, (e) => e.propositionCount); }
    get placements() { return callOn(this, (e) => e.placements); }
    get allowedLinkHosts() { return callOn(this, (e) => e.allowedLinkHosts); }

    profile(snapshot) {
      const text = snapshotText(snapshot);
      return callOn(this, (e) => {
        const inner = e.profile(text ?? snapshot);
        if (text === undefined) {
          inner.free();
          throw engineError("invalid_argument", "profile: could not be turned into JSON");
        }
        return newProfile(inner, text, this);
      });
    }

    decide(request) { return callOn(this, (e) => e.decide(request)); }
    decideAll(request) { return callOn(this, (e) => e.decideAll(request)); }
    decideFor(profile, options) { return withProfile(this, profile, (e, p) => e.decideFor(p, options)); }
    decideAllFor(profile, options) { return withProfile(this, profile, (e, p) => e.decideAllFor(p, options)); }
    record(ledger, event) { return callOn(this, (e) => e.record(ledger, event)); }
    recordFor(profile, ledger, event) { return withProfile(this, profile, (e, p) => e.recordFor(p, ledger, event)); }
    fitLedger(ledger, maxLength) { return callOn(this, (e) => e.fitLedger(ledger, maxLength)); }
    mergeLedgers(a, b) { return callOn(this, (e) => e.mergeLedgers(a, b)); }

    /** Frees the engine's memory in Wasm; using it afterwards is an `invalid_argument` error. */
    free() {
      const handle = handleOf(this);
      if (!handle) throw engineError("invalid_argument", "this: expected an Engine made by Engine.load");
      handle.free();
    }
  }

  /** Runs `use(engine's inner, profile's inner)`; `profile` must be a Profile. */
  function withProfile(engine, profile, use) {
    const state = profileState(profile);
    if (!state) {
      throw engineError("invalid_argument", "profile: expected a Profile made by engine.profile(snapshot); a snapshot itself goes to engine.decide or engine.decideAll");
    }
    return callOn(engine, (e) => using(state.handle, (p) => use(e, p), handleOf(engine)));
  }

  /** A checked profile snapshot held in Wasm; made by `engine.profile(snapshot)`. */
  class Profile {
    #state;

    /** @private Profiles come from `engine.profile(snapshot)`. */
    constructor(token, state) {
      if (token !== INTERNAL) throw engineError("invalid_argument", "Profile: use engine.profile(snapshot)");
      this.#state = state;
    }

    static {
      profileState = (value) => (typeof value === "object" && value !== null && #state in value ? value.#state : undefined);
    }

    /** The pseudonymous id, if any. */
    get id() { return checkedProfile(this).id; }
    get loggedIn() { return checkedProfile(this).loggedIn; }

    get [PROFILE_HANDLE]() { return true; }

    /** Frees the profile's memory in Wasm; using it afterwards is an `invalid_argument` error. */
    free() {
      checkedProfile(this, { freed: true }).handle.free();
    }
  }

  /** The state of `profile`, which must be a Profile (and not freed, unless `freed` is allowed). */
  function checkedProfile(profile, { freed = false } = {}) {
    const state = profileState(profile);
    if (!state) throw engineError("invalid_argument", "this: expected a Profile made by engine.profile(snapshot)");
    if (state.handle.freed && !freed) throw engineError("invalid_argument", "this Profile was freed; make a new one");
    return state;
  }

  /**
   * A Profile over `inner`. After a trap it is checked again from `text` by the engine that made
   * it, or, if that one was freed, by the engine it is used with.
   */
  function newProfile(inner, text, engine) {
    const remake = (caller) => {
      const maker = handleOf(engine).freed ? caller : handleOf(engine);
      return using(maker, (e) => e.profile(text));
    };
    const handle = new Handle(inner, remake, "Profile");
    return new Profile(INTERNAL, { handle, id: inner.id, loggedIn: inner.loggedIn });
  }

  for (const Class of [Engine, Profile]) {
    if (typeof Symbol.dispose === "symbol") Class.prototype[Symbol.dispose] = Class.prototype.free;
  }

  // Test builds only (Cargo feature `test-trap`): the deliberate trap, through the same recovery.
  if (typeof bindings.Engine.__trapForTests === "function") {
    Engine.__trapForTests = () => enter(() => bindings.Engine.__trapForTests());
  }

  /** Sets what is told of every trap and failed reload (default: console.warn); null: nothing. */
  function setOnError(callback) {
    if (callback !== null && typeof callback !== "function") {
      throw engineError("invalid_argument", "setOnError: expected a function, or null for no reports");
    }
    onError = callback;
  }

  return { Engine, Profile, setOnError };
}

/** A copy of the bundle's bytes, or undefined when they are not a Uint8Array or ArrayBuffer. */
function copyOfBytes(value) {
  try {
    if (value instanceof Uint8Array) return new Uint8Array(value);
    if (value instanceof ArrayBuffer) return new Uint8Array(new Uint8Array(value));
  } catch {
    // A detached buffer, a Proxy posing as one: the engine says what is wrong with it.
  }
  return undefined;
}

/** A snapshot's JSON text (what the engine would make of it), or undefined. */
function snapshotText(snapshot) {
  if (typeof snapshot === "string") return snapshot;
  if (typeof snapshot !== "object" || snapshot === null) return undefined;
  try {
    const text = JSON.stringify(snapshot);
    return typeof text === "string" ? text : undefined;
  } catch {
    return undefined;
  }
}
