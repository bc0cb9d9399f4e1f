import type { Engine, LoadOptions } from "./opmaat.js";

export interface StartOptions {
  bundleUrl: string;
  trustedKeys: Record<string, string>;
  /** Told about a failed fetch, a refused bundle (its `code`), missing WebAssembly ("no_webassembly"),
   * and, later, a trap of the engine ("engine_trapped": the next call runs on a fresh instance
   * with the same bundle) or a reload after one that failed (its `code`). */
  onError?: (e: Error & { code?: string }) => void;
  /** localStorage key of the last bundle that verified (default "opmaat.bundle"). */
  storageKey?: string;
  loadOptions?: Omit<LoadOptions, "trustedKeys">;
}

/** The engine, or null where WebAssembly is unavailable or no bundle could be used. */
export declare function start(options: StartOptions): Promise<{ opmaat: typeof import("./browser.js"); engine: Engine; fromLastGood: boolean } | null>;
