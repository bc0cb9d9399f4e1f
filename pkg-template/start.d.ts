import type { Engine, LoadOptions, OverlaySummary } from "./engine.js";

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
  /** Where the availability overlay (live stock and pauses) for the bundle is published; without it, none is used. */
  overlayUrl?: string;
  /** How often an open page asks for a new overlay, in seconds (default 60). */
  overlayRevalidateSeconds?: number;
  /** Told of every overlay newly applied: decide again to show what it changed. */
  onOverlay?: (overlay: OverlaySummary) => void;
}

export interface Started {
  opmaat: typeof import("./browser.js");
  engine: Engine;
  /** The bundle came from localStorage: the fetch failed or the fetched one was refused. */
  fromLastGood: boolean;
  /** Fetches and applies the overlay now: its summary when a new one was applied, else null. */
  refreshOverlay(): Promise<OverlaySummary | null>;
  /** Stops revalidating the overlay. */
  stop(): void;
}

/** The engine, or null where WebAssembly is unavailable or no bundle could be used. */
export declare function start(options: StartOptions): Promise<Started | null>;
