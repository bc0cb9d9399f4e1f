/** The protocol version this package speaks. */
export declare const PROTOCOL_VERSION: 1;
export declare const MAX_MESSAGE_CHARS: number;

/** A platform's JavaScript face: iOS WKWebView, Android (WebViewCompat or a JavaScript interface), React Native, a parent window. */
export type AdapterName = "ios" | "android-web-message" | "android-interface" | "react-native" | "parent-window";
export declare const ADAPTERS: ReadonlyArray<{ name: AdapterName }>;

/** Messages the app sends the page (JSON text over the bridge). */
export type AppMessage =
  | { v: 1; type: "init"; id?: string | number; snapshot: unknown; context?: Record<string, unknown>; ledger?: string; bundle?: string; placements?: string[] }
  | { v: 1; type: "ledger"; id?: string | number; ledger: string }
  | { v: 1; type: "context"; id?: string | number; context: Record<string, unknown> }
  | { v: 1; type: "convert"; id?: string | number; token: string };

/** Messages the page sends the app; `seq` counts them, 1, 2, 3, … */
export type PageMessage = { v: 1; seq: number } & (
  | { type: "ready"; protocol: 1 }
  | { type: "decided"; placements: { placement: string; decisionId: string; bundleVersion: number; slots: { position: number; proposition: string; token: string }[]; warnings: string[]; measurement: import("./beacon.js").MeasurementEvent[] }[] }
  | { type: "response"; event: "impression" | "click" | "dismiss" | "convert"; token: string; proposition?: string; recorded: "added" | "duplicate" | "stale"; ledger: string; measurement: import("./beacon.js").MeasurementEvent[] }
  | { type: "ledger"; ledger: string }
  | { type: "error"; code: string; message: string; inReplyTo?: string | number }
);

/** Why `message` is not one the app may send, or null. */
export declare function checkIncoming(message: unknown): string | null;

export interface Bridge {
  adapter: AdapterName;
  send(type: PageMessage["type"], fields?: Record<string, unknown>): number;
  close(): void;
}

/** Connects to the app through the first platform face found; null outside any app. */
export declare function connectBridge(options: { onMessage?: (message: AppMessage) => void; win?: object; adapter?: AdapterName }): Bridge | null;
