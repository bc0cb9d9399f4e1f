// The edge under load, on loopback only: a bounded autocannon run (LOAD_SECONDS, a fixed number
// of connections) against the real workerd, on three pages, with a new visitor without consent
// and a returning one with analytics and with personalisation consent, must see no error, no
// timeout and nothing but 200s. It reports (never asserts) requests per second, p50/p99 latency,
// workerd's CPU time per request, and the cold start: process and isolate start with the Wasm
// instantiated, then the first personalised page (bundle fetched, verified, decided).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import autocannon from "autocannon";

import { keys } from "../personas.mjs";
import { cookiePayload, edgeBundle, shownIn, startEdge, visitorCookie } from "./harness.mjs";

const LOAD_SECONDS = Number(process.env.OPMAAT_EDGE_LOAD_SECONDS ?? 30);
const CONNECTIONS = 10;
/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ; // utime and stime, fields 14 and 15
}

test(`${LOAD_SECONDS} s of load on loopback: no errors; figures reported`, async (t) => {
  const edge = await startEdge({ embed: null, bundles: dirname(edgeBundle()), trustedKeys: JSON.stringify({ [keys.a.keyId]: keys.a.publicKey }) });
  try {
    const first = performance.now();
    const response = await fetch(`${edge.base}/`, { headers: { accept: "text/html", cookie: "opmaat_consent=personalisation.marketing" } });
    const html = await response.text();
    const firstPage = performance.now() - first;
    assert.equal(shownIn(html).length, 1);
    t.diagnostic(`cold start: workerd up with the worker and its Wasm in ${edge.startedIn.toFixed(0)} ms; `
      + `first personalised page in ${firstPage.toFixed(1)} ms (Server-Timing: ${response.headers.get("server-timing")})`);

    const returning = visitorCookie(response);
    assert.ok(cookiePayload(returning).id);
    const cpuBefore = cpuSeconds(edge.pid);
    const result = await autocannon({
      url: edge.base, connections: CONNECTIONS, duration: LOAD_SECONDS,
      requests: [
        { method: "GET", path: "/", headers: { accept: "text/html" } },
        { method: "GET", path: "/sparen/", headers: { accept: "text/html", cookie: `${returning}; opmaat_consent=marketing.analytics`, "accept-language": "nl-NL" } },
        { method: "GET", path: "/veilig-bankieren/", headers: { accept: "text/html", cookie: `${returning}; opmaat_consent=personalisation.marketing`, "sec-ch-ua-mobile": "?1" } },
      ],
    });
    const cpu = cpuSeconds(edge.pid) - cpuBefore;
    const total = result.requests.total;
    t.diagnostic(`load: ${CONNECTIONS} connections for ${LOAD_SECONDS} s: ${total} requests, ${result.requests.average.toFixed(0)} req/s; `
      + `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; workerd CPU ${(1000 * cpu / total).toFixed(3)} ms per request`);
    assert.ok(total > 0);
    assert.equal(result.errors, 0, "connection errors");
    assert.equal(result.timeouts, 0, "timeouts");
    assert.equal(result.non2xx, 0, "responses other than 2xx");
    assert.ok(!edge.events().some((e) => e.opmaat === "fail_open"), edge.logs.join("\n"));
  } finally {
    await edge.stop();
  }
});
