/** The sample bundle (signed with a DEVELOPMENT key: for first steps and tests, never production). */
export declare const sampleBundleUrl: URL;
/** The development key the sample is signed with: key id → base64 public key. */
export declare const sampleTrustedKeys: Record<string, string>;
/** A pseudonymous profile snapshot of the sample catalogue. */
export declare const sampleSnapshot: Record<string, unknown>;
/** A moment inside the sample bundle's validity window (RFC 3339). */
export declare const sampleNow: string;
/** The sample bundle's bytes: fetched in a browser, read from the package in Node, Deno and Bun. */
export declare function sampleBundle(): Promise<Uint8Array>;
