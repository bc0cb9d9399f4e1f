/** A measurement event as the engine produces it for the bank's collector. Everything it says
 * about its decision (bundle, version, placement, position, holdout, treatment, selection
 * probability) comes from the slot's token: what the decision knew. */
export interface MeasurementEvent {
  decisionId: string;
  proposition: string;
  treatment: string;
  /** The customer was in the holdout group when the decision was made. */
  holdout: boolean;
  /** "withheld": a held-out customer's decision would have shown the proposition (the control
   * group's exposure; `decision.measurement`). */
  event: "impression" | "click" | "dismiss" | "convert" | "withheld";
  /** RFC 3339, UTC. */
  time: string;
  bundle: string;
  bundleVersion: number;
  placement: string;
  /** 1, 2, … in the placement; 0 for a withheld proposition. */
  position: number;
  /** The probability with which the decision picked this treatment (for off-policy evaluation). */
  selectionProbability: number;
  /** The pseudonymous id of the profile. */
  subject: string;
}

export interface BeaconOptions {
  /** The collector's URL. */
  url: string;
  /** localStorage key of the unsent events (default "opmaat.unsent"). */
  storageKey?: string;
  /** Events per beacon (default 20). */
  batchSize?: number;
  /** Longest wait before a partial batch goes out (default 5000 ms). */
  flushAfterMs?: number;
}

/** Sends measurement events with navigator.sendBeacon, keeping unsent ones across page loads. */
export declare class Beacon {
  constructor(options: BeaconOptions);
  send(events: MeasurementEvent[]): void;
  /** Hands queued events to the browser now; returns how many are still waiting. */
  flush(): number;
}
