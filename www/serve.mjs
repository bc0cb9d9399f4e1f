// The demo's web server, on 127.0.0.1 only (started by `./build.sh demo`):
// - serves www/, the built package under /pkg/, the signed demo bundle under /bundles/ and the
//   personas of tests/personas/ under /personas/ (their list at /personas/index.json), so the
//   demo's persona switcher shows exactly the customers the tests decide for;
// - is the bank's measurement collector: POST /collect takes a JSON array of measurement events
//   (what the package's beacon helper sends), checks every one, and appends the good ones to a
//   JSON Lines file, so the demo's own clicks and dismissals become data that `opmaat learn`
//   reads. A bad event never costs the others of its batch (the Beacon cannot send it again):
//   the answer is 200 `{ accepted, refused: [{ index, reason }] }`. Only a body that is no batch
//   at all (not JSON, not an array, too large) is refused whole;
// - plays the bank's campaign operations: POST /ops/overlay with `{ propositions: { <id>: { soldOut
//   | remaining | available | paused } } }` signs a new availability overlay for the demo bundle
//   with the development key (through `opmaat overlay build`) and publishes it as
//   /bundles/bank-nl-web.opa, where the pages and the edge worker revalidate it; the current
//   state is signed again every OVERLAY_REPUBLISH_MS, as operations would, so it never expires
//   while the demo runs.
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { appendFile, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".opb": "application/octet-stream",
  ".opa": "application/octet-stream",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** How often the demo signs its availability overlay again (each is valid an hour). */
export const OVERLAY_REPUBLISH_MS = 10 * 60 * 1000;
const OVERLAY_TTL_MINUTES = 60;

/** Largest body /collect reads, and most events in one batch. */
export const MAX_BATCH_BYTES = 64 * 1024;
export const MAX_BATCH_EVENTS = 200;
const MAX_FIELD_LENGTH = 200;
const EVENT_KINDS = new Set(["impression", "click", "dismiss", "convert", "withheld"]);
/** Every field of a measurement event and its type; nothing else is accepted (no personal data). */
const FIELDS = {
  decisionId: "string", proposition: "string", treatment: "string", holdout: "boolean",
  event: "string", time: "string", bundle: "string", bundleVersion: "number", placement: "string",
  position: "number", selectionProbability: "number", subject: "string",
};
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Why a measurement event is refused, or null when it is fine. */
export function checkEvent(event, index) {
  const where = `events[${index}]`;
  if (typeof event !== "object" || event === null || Array.isArray(event)) return `${where}: expected an object`;
  for (const key of Object.keys(event)) {
    if (!(key in FIELDS)) return `${where}.${key}: unknown field (only ${Object.keys(FIELDS).join(", ")})`;
  }
  for (const [key, type] of Object.entries(FIELDS)) {
    if (typeof event[key] !== type) return `${where}.${key}: expected a ${type}`;
    if (type === "string" && (event[key].length === 0 || event[key].length > MAX_FIELD_LENGTH)) {
      return `${where}.${key}: expected 1 to ${MAX_FIELD_LENGTH} characters`;
    }
  }
  if (!EVENT_KINDS.has(event.event)) return `${where}.event: expected one of ${[...EVENT_KINDS].join(", ")}`;
  if (!RFC3339.test(event.time) || Number.isNaN(Date.parse(event.time))) return `${where}.time: expected an RFC 3339 UTC time`;
  if (!Number.isSafeInteger(event.bundleVersion) || event.bundleVersion < 0) return `${where}.bundleVersion: expected a whole number`;
  if (!Number.isInteger(event.position) || event.position < 0 || event.position > 255) return `${where}.position: expected a whole number from 0 to 255`;
  if (!(event.selectionProbability > 0 && event.selectionProbability <= 1)) return `${where}.selectionProbability: expected a probability above 0 and at most 1`;
  if ((event.event === "withheld") !== (event.position === 0) || (event.event === "withheld" && !event.holdout)) {
    return `${where}: a withheld event has position 0 and holdout true, any other event position 1 or more`;
  }
  return null;
}

async function collect(req, res, eventsFile) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BATCH_BYTES) return reply(res, 413, `batch over ${MAX_BATCH_BYTES} bytes`);
    chunks.push(chunk);
  }
  let events;
  try {
    events = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (e) {
    return reply(res, 400, `not JSON: ${e.message}`);
  }
  if (!Array.isArray(events)) return reply(res, 400, "expected a JSON array of events");
  if (events.length > MAX_BATCH_EVENTS) return reply(res, 413, `more than ${MAX_BATCH_EVENTS} events`);
  const accepted = [];
  const refused = [];
  events.forEach((event, index) => {
    const reason = checkEvent(event, index);
    if (reason) refused.push({ index, reason });
    else accepted.push(event);
  });
  if (accepted.length > 0) {
    await appendFile(eventsFile, accepted.map((e) => JSON.stringify(e) + "\n").join(""));
  }
  res.writeHead(200, { "content-type": TYPES[".json"], "cache-control": "no-store" });
  res.end(JSON.stringify({ accepted: accepted.length, refused }));
}

/**
 * The demo's campaign operations: signs `propositions` into a new overlay for the demo bundle.
 * Returns `{ ok, message }`: the CLI's own error message when it refuses the source.
 */
export async function publishOverlay({ cli, key, bundleId, out, issuedAt = null }, propositions) {
  const source = `${out}.json`;
  await writeFile(source, JSON.stringify({ bundle: bundleId, propositions }, null, 2) + "\n");
  // `issuedAt` (tests, whose browser clock is set): an RFC 3339 time, and a sequence that still grows.
  const at = issuedAt ? ["--issued-at", issuedAt()] : [];
  return new Promise((done) => {
    execFile(cli, ["overlay", "build", source, "--key", key, "--out", out, "--ttl-minutes", String(OVERLAY_TTL_MINUTES), ...at], (error, stdout, stderr) => {
      done(error ? { ok: false, message: stderr.trim() || error.message } : { ok: true, message: stdout.trim() });
    });
  });
}

async function operate(req, res, ops) {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > MAX_BATCH_BYTES) return reply(res, 413, "too large");
  }
  let propositions;
  try {
    ({ propositions } = JSON.parse(body));
  } catch (e) {
    return reply(res, 400, `not JSON: ${e.message}`);
  }
  if (typeof propositions !== "object" || propositions === null) return reply(res, 400, "expected { propositions: { <id>: { … } } }");
  const published = await publishOverlay(ops, propositions);
  if (published.ok) ops.current = propositions;
  res.writeHead(published.ok ? 200 : 400, { "content-type": TYPES[".json"], "cache-control": "no-store" });
  res.end(JSON.stringify(published));
}

function reply(res, status, message) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(message + "\n");
}

/** The file a URL path names, or null when it would leave its mount. */
function resolve(mounts, urlPath) {
  const path = decodeURIComponent(urlPath.split("?")[0]);
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    return file === dir || file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

async function serveFile(req, res, mounts) {
  let file = resolve(mounts, req.url);
  try {
    if (file && (await stat(file)).isDirectory()) file = join(file, "index.html");
    if (!file) throw Object.assign(new Error("outside the served folders"), { code: "ENOENT" });
    const info = await stat(file);
    // Revalidated on every use (no-cache) and answered 304 while unchanged: a new bundle is
    // picked up at once, an unchanged one costs no transfer.
    const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers = {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": "no-cache",
      etag,
      "x-content-type-options": "nosniff",
    };
    if (req.headers["if-none-match"] === etag) return res.writeHead(304, headers).end();
    const body = await readFile(file);
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : body);
  } catch (e) {
    if (e.code === "ENOENT" || e.code === "ENOTDIR") return reply(res, 404, "not found");
    console.error(req.url, e);
    reply(res, 500, "server error");
  }
}

/** Every persona fixture, in file order, with its file name: what the persona switcher offers. */
async function personaIndex(res, dir) {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  const personas = await Promise.all(files.map(async (file) => ({
    file: file.replace(/\.json$/, ""),
    ...JSON.parse(await readFile(join(dir, file), "utf8")),
  })));
  res.writeHead(200, { "content-type": TYPES[".json"], "cache-control": "no-cache", "x-content-type-options": "nosniff" });
  res.end(JSON.stringify(personas));
}

/**
 * The demo server; `bundles` is the folder with the signed bundle, `eventsFile` the JSON Lines
 * file; `ops` `{ cli, key, bundleId, out, issuedAt? }` turns on /ops/overlay (the development key
 * signs).
 */
export function createDemoServer({ root = ROOT, bundles = join(ROOT, "target", "demo"), eventsFile = join(bundles, "events.jsonl"), ops = null } = {}) {
  const personas = join(root, "tests", "personas");
  const mounts = [["/pkg/", join(root, "pkg")], ["/bundles/", bundles], ["/personas/", personas], ["/", join(root, "www")]];
  return createServer((req, res) => {
    const path = req.url.split("?")[0];
    const done = path === "/collect"
      ? (req.method === "POST" ? collect(req, res, eventsFile) : reply(res, 405, "POST measurement events here"))
      : path === "/ops/overlay" && ops
        ? (req.method === "POST" ? operate(req, res, ops) : reply(res, 405, "POST the overlay's propositions here"))
        : path === "/personas/index.json" ? personaIndex(res, personas) : serveFile(req, res, mounts);
    Promise.resolve(done).catch((e) => {
      console.error(req.url, e);
      if (!res.headersSent) reply(res, 500, "server error");
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const portArg = process.argv.indexOf("--port");
  const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 8080;
  const demo = join(ROOT, "target", "demo");
  const ops = {
    cli: join(ROOT, "target", "debug", "opmaat"), key: join(demo, "dev-signing.key"), bundleId: "bank-nl-web",
    out: join(demo, "bank-nl-web.opa"), current: { rijksmuseum: { remaining: 500 } },
  };
  const republish = () => publishOverlay(ops, ops.current).then((r) => { if (!r.ok) console.error("overlay:", r.message); });
  await republish();
  setInterval(republish, OVERLAY_REPUBLISH_MS).unref();
  const server = createDemoServer({ ops });
  server.listen(port, "127.0.0.1", () => {
    console.log(`opmaat demo: http://127.0.0.1:${server.address().port}/  (Ctrl-C stops it)`);
    console.log(`measurement events are appended to ${join(ROOT, "target", "demo", "events.jsonl")}`);
  });
}
