import type { Decision, Engine, Profile } from "./engine.js";
import type { Beacon } from "./beacon.js";

/** Viewports narrower than this many CSS pixels get compact creatives. */
export declare const COMPACT_BREAKPOINT: number;
/** The CTA URL parameter that carries the slot's token. */
export declare const TOKEN_PARAMETER: string;

/** Where the ledger string is kept. */
export interface LedgerStore {
  get(): string | undefined;
  set(ledger: string): void;
}

export interface RenderOptions {
  /** Records the responses. */
  engine: Engine;
  /** With analytics consent, responses become measurement events. */
  profile?: Profile;
  /** Default: localStorage, key "opmaat.ledger". */
  store?: LedgerStore;
  beacon?: Beacon;
  labels?: { notInterested?: string };
  /** Told of every response recorded, after the store has the updated ledger (the webview hands it to the app). */
  onResponse?: (response: RecordedResponse) => void;
}

/** A response as `renderSlots` recorded it. */
export interface RecordedResponse {
  event: "impression" | "click" | "dismiss";
  token: string;
  proposition: string;
  recorded: "added" | "duplicate" | "stale";
  /** The ledger after it. */
  ledger: string;
  /** For the collector; empty without analytics consent. */
  measurement: import("./beacon.js").MeasurementEvent[];
}

/** "small" or "large" from the viewport's width (for the decision's context.formFactor). */
export declare function formFactorFor(win?: { innerWidth: number }): "small" | "large";
/** A ledger kept in localStorage. */
export declare function localStorageLedger(key?: string): LedgerStore;
/** Fills the elements marked data-opmaat-slot="<placement>:<position>" and wires the responses. */
export declare function renderSlots(decision: Decision, root: ParentNode, options: RenderOptions): { shown: string[]; problems: string[] };
