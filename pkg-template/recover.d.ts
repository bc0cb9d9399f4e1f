import type { Engine, OpmaatError, Profile } from "./engine.js";

/** The package's Engine and Profile over one instance of the bindings, recovering from traps. */
export interface Recovering {
  Engine: typeof Engine;
  Profile: typeof Profile;
  /**
   * Sets what is told of every trap of the engine (code "engine_trapped": that call threw it and
   * the next call runs on a fresh instance) and of every Engine or Profile that could not be made
   * again on the fresh instance (the load's own code, e.g. "expired"). Default: `console.warn`;
   * `null`: nothing. The callback may not throw to stop the recovery (what it throws is ignored).
   */
  setOnError(callback: ((error: OpmaatError) => void) | null): void;
}

/** Wraps the (initialised) bindings; the host entries call it once. */
export declare function recovering(instance: object, options?: { initialised?: () => boolean }): Recovering;
