/** A measurement event as the engine produces it for the bank's collector. */
export interface MeasurementEvent {
  decisionId: string;
  proposition: string;
  treatment: string;
  holdout: boolean;
  event: "impression" | "click" | "dismiss" | "convert";
  /** RFC 3339, UTC. */
  time: string;
  bundle: string;
  bundleVersion: number;
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
