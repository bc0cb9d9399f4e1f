// Sends measurement events to the bank's collector from the browser, without losing any.
//
// Events are queued, persisted in localStorage, and handed to navigator.sendBeacon in batches:
// when the queue reaches `batchSize`, after `flushAfterMs`, and when the page is hidden or
// unloaded. Whatever could not be handed over (no sendBeacon, the browser's beacon quota full,
// the page gone first) stays in localStorage and is sent by the next page that creates a Beacon
// with the same storage key. Events are plain data: the engine only produces them with the
// customer's analytics consent, and they carry no personal data.

const DEFAULT_KEY = "opmaat.unsent";
const DEFAULT_BATCH = 20;
const DEFAULT_FLUSH_MS = 5000;
/** Most events kept while the collector is unreachable; the oldest go first beyond it. */
const MAX_QUEUED = 500;

export class Beacon {
  /**
   * @param {{ url: string, storageKey?: string, batchSize?: number, flushAfterMs?: number }} options
   */
  constructor({ url, storageKey = DEFAULT_KEY, batchSize = DEFAULT_BATCH, flushAfterMs = DEFAULT_FLUSH_MS }) {
    if (typeof url !== "string" || url === "") throw new TypeError("Beacon: options.url must be the collector's URL");
    this.url = url;
    this.storageKey = storageKey;
    this.batchSize = batchSize;
    this.flushAfterMs = flushAfterMs;
    this.timer = null;
    this.queue = this.#load();
    const flushNow = () => this.flush();
    addEventListener("pagehide", flushNow);
    addEventListener("visibilitychange", () => document.visibilityState === "hidden" && flushNow());
    if (this.queue.length > 0) this.flush();
  }

  /** Queues measurement events (an array, as `engine.record` returns them) for the collector. */
  send(events) {
    if (!Array.isArray(events) || events.length === 0) return;
    this.queue.push(...events);
    if (this.queue.length > MAX_QUEUED) this.queue.splice(0, this.queue.length - MAX_QUEUED);
    this.#save();
    if (this.queue.length >= this.batchSize) this.flush();
    else if (this.timer === null) this.timer = setTimeout(() => this.flush(), this.flushAfterMs);
  }

  /** Hands the queued events to the browser now; returns how many are still waiting. */
  flush() {
    clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.batchSize);
      const body = new Blob([JSON.stringify(batch)], { type: "text/plain;charset=UTF-8" });
      if (typeof navigator.sendBeacon !== "function" || !navigator.sendBeacon(this.url, body)) break;
      this.queue.splice(0, batch.length);
    }
    this.#save();
    return this.queue.length;
  }

  #load() {
    try {
      const stored = JSON.parse(localStorage.getItem(this.storageKey) ?? "[]");
      return Array.isArray(stored) ? stored : [];
    } catch {
      return []; // unreadable storage: start empty rather than break the page
    }
  }

  #save() {
    try {
      if (this.queue.length === 0) localStorage.removeItem(this.storageKey);
      else localStorage.setItem(this.storageKey, JSON.stringify(this.queue));
    } catch {
      // Storage full or disabled: the events still go out with this page.
    }
  }
}
