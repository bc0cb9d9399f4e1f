import type { Engine, LoadOptions, Profile } from "./engine.js";
export { ADAPTERS, AdapterName, AppMessage, Bridge, PROTOCOL_VERSION, PageMessage, checkIncoming, connectBridge } from "./bridge.js";
export { COMPACT_BREAKPOINT, TOKEN_PARAMETER, formFactorFor, renderSlots } from "./render.js";

/** What the app hands in for the engine: never fetched. */
export type WasmSource = WebAssembly.Module | ArrayBuffer | Uint8Array | string;

/** Instantiates the engine once; rejects with code "no_webassembly". */
export declare function initWasm(wasm: WasmSource): Promise<{ Engine: typeof Engine; Profile: typeof Profile; setOnError(callback: ((e: Error & { code: string }) => void) | null): void }>;

export interface WebviewOptions {
  wasm: WasmSource;
  /** The signed bundle the app ships (and updates when online); or sent in `init`. */
  bundle?: Uint8Array | ArrayBuffer;
  trustedKeys: Record<string, string>;
  /** The bank's profile-signing keys: snapshots must be signed by one of them. */
  profileKeys: Record<string, string>;
  onError?: (e: Error & { code?: string }) => void;
  /** Where the last good bundle is kept (default localStorage). */
  storage?: Pick<Storage, "getItem" | "setItem">;
}

export declare function startWebview(options: WebviewOptions & { storageKey?: string; loadOptions?: Omit<LoadOptions, "trustedKeys"> }):
  Promise<{ opmaat: Awaited<ReturnType<typeof initWasm>>; engine: Engine; fromLastGood: boolean } | null>;

export declare function runWebview(options: WebviewOptions & {
  /** The placements of this screen, e.g. ["app-home"] (or in `init`). */
  placements?: string[];
  root?: ParentNode;
  win?: object;
  adapter?: import("./bridge.js").AdapterName;
  labels?: { notInterested?: string };
  now?: Date | number | string;
}): Promise<{ adapter: import("./bridge.js").AdapterName; decisions(): import("./engine.js").Decision[]; settled(): Promise<void>; close(): void } | null>;
