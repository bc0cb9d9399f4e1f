// A typed use of the package, checked by `tsc --noEmit` in ./build.sh test: the declarations
// must describe every input and output precisely enough for this to compile, and no further.
import { start } from "opmaat/start";
import { checkIncoming, connectBridge, runWebview, type AppMessage, type PageMessage } from "opmaat/webview";
import { Beacon, Engine, formFactorFor, init, renderSlots, type Decision, type ErrorCode, type OpmaatError, type OverlaySummary, type Recorded, type TraceRule } from "opmaat";

declare const bundle: ArrayBuffer;
declare const snapshot: Record<string, unknown>;
declare const storage: { get(): string | undefined; set(v: string): void };

declare const wasmUrl: string;
await init(wasmUrl);
const engine: Engine = Engine.load(bundle, {
  trustedKeys: { "0123456789abcdef": "hv5BlKP7blVd4+336Vabtxz7oh0T7FmKi0W3zoUqUTA=" },
  now: new Date(),
  minVersion: 41,
  requireSignedProfiles: false,
});
const version: number = engine.version;
const placements: string[] = engine.placements;

const decision: Decision = engine.decide({
  placement: "overview",
  profile: snapshot,
  context: { page: "/sparen", locale: "nl-NL", formFactor: "small" },
  ledger: storage.get(),
  trace: true,
});
for (const slot of decision.slots) {
  const title: string = slot.creative.title;
  const p: number = slot.parts.p * slot.parts.c * slot.parts.v * slot.parts.l;
  const kind: "sales" | "service" | "loyalty" = slot.kind;
  void [title, p, kind];
}
const why: string[] = decision.trace.map((t) => `${t.proposition} (${t.kind}, ${t.segment}): ${t.stage}/${t.rule}`);
const ranked: number[] = decision.trace.flatMap((t) => (t.priority !== undefined && t.parts ? [t.priority, t.parts.p] : []));
const capped: TraceRule = "sales_per_day";
const missing: ErrorCode = "fetch_failed";
const cost: number = decision.withoutKnob.knobCost;

const profile = engine.profile(snapshot);
const pages: Decision[] = engine.decideAll({ placements: ["overview", "app-home"], profile: snapshot });
const samePages: Decision[] = engine.decideAllFor(profile, { placements: ["overview", "app-home"], trace: true });
const agent: Decision = engine.decideFor(profile, { placement: "agent", context: { topic: "mortgage" } });
const result: Recorded = engine.recordFor(profile, storage.get(), { event: "dismiss", token: decision.slots[0].token });
storage.set(result.ledger);
const forCookie: string = engine.fitLedger(result.ledger, 2000);
new Beacon({ url: "/collect" }).send(result.measurement);
const hosts: string[] = engine.allowedLinkHosts;
const screen: "small" | "large" = formFactorFor({ innerWidth: 390 });
const rendered: { shown: string[]; problems: string[] } = renderSlots(decision, document, { engine, profile, beacon: new Beacon({ url: "/collect" }) });
void [hosts, screen, rendered];

declare const overlayBytes: Uint8Array;
const applied: OverlaySummary = engine.applyOverlay(overlayBytes, { now: "2026-12-05T09:30:00Z" });
const inUse: OverlaySummary | null = engine.overlay;
const appliedNow: number = engine.applyOverlay(overlayBytes).sequence;
const sequence: number | undefined = decision.overlaySequence;
const left: number | undefined = decision.slots[0].loyalty?.remaining;
const soldOut: TraceRule = "sold_out";
const otherBundle: ErrorCode = "wrong_bundle";
void [applied.sequence, appliedNow, applied.unknownPropositions, inUse, sequence, left, soldOut, otherBundle];

const started = await start({
  bundleUrl: "/bundles/bank-nl-web.opb", trustedKeys: {}, onError: (e) => console.warn(e.code),
  overlayUrl: "/bundles/bank-nl-web.opa", overlayRevalidateSeconds: 30, onOverlay: (o: OverlaySummary) => console.info(o.sequence),
});
if (started) {
  const fromLastGood: boolean = started.fromLastGood;
  const v: number = started.engine.version;
  const fresh: Promise<OverlaySummary | null> = started.refreshOverlay();
  started.stop();
  void [fromLastGood, v, fresh];
}

declare const wasmBytes: ArrayBuffer;
const appScreen = await runWebview({ wasm: wasmBytes, trustedKeys: {}, profileKeys: {}, placements: ["app-home"], onError: (e) => console.warn(e.code) });
if (appScreen) {
  const shownInApp: Decision[] = appScreen.decisions();
  await appScreen.settled();
  appScreen.close();
  void shownInApp;
}
const initMessage: AppMessage = { v: 1, type: "init", snapshot: {}, ledger: "L1.x", context: { locale: "nl-NL" } };
const problem: string | null = checkIncoming(initMessage);
const bridge = connectBridge({ onMessage: (m: AppMessage) => console.info(m.type) });
const sent: number | undefined = bridge?.send("ready", { protocol: 1 });
const reply: PageMessage["type"] = "response";
const merged: string = engine.mergeLedgers(storage.get(), "L1.other");
void [problem, sent, reply, merged];

try {
  Engine.load(new Uint8Array(0), { trustedKeys: {} });
} catch (e) {
  const code: string = (e as OpmaatError).code;
  void code;
}
void [version, placements, why, ranked, capped, missing, cost, pages, samePages, agent, forCookie];
