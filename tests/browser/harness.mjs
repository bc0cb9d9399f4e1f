// What the browser suites share: Debian's Chromium started headless the way this machine needs
// (no sandbox as root, no background networking), and the demo server on a free loopback port.
import { chromium } from "playwright-core";

import { createDemoServer } from "../../www/serve.mjs";

export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

export function launchChromium() {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** The demo server on 127.0.0.1 with `options` (see createDemoServer); resolves to { server, base }. */
export async function serveDemo(options) {
  const server = createDemoServer(options);
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}
