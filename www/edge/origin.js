// The local stand-in for the bank's web server, run by workerd beside the edge worker (see
// config.capnp): serves www/ (the demo site), the built package under /pkg/ and the signed
// bundle and its availability overlay under /bundles/, from read-only disk services, with content types, ETags of the content
// and 304s for conditional requests. The edge
// worker in front of it is the same one that runs on the CDN.

const TYPES = {
  html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8", json: "application/json; charset=utf-8", svg: "image/svg+xml",
  png: "image/png", wasm: "application/wasm", opb: "application/octet-stream", opa: "application/octet-stream",
};

export default {
  async fetch(request, env) {
    if (request.method !== "GET" && request.method !== "HEAD") return new Response("read-only\n", { status: 405 });
    const url = new URL(request.url);
    let path;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return new Response("bad path\n", { status: 400 });
    }
    if (path.split("/").includes("..")) return new Response("not found\n", { status: 404 });
    let disk = env.WWW;
    for (const [prefix, binding] of [["/pkg/", env.PKG], ["/bundles/", env.BUNDLES]]) {
      if (path.startsWith(prefix)) {
        disk = binding;
        path = path.slice(prefix.length - 1);
      }
    }
    if (path.endsWith("/")) path += "index.html";
    const file = await disk.fetch(new Request(new URL(path, "http://disk")));
    if (!file.ok) return new Response("not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
    // An ETag of the content itself: a change within the same second as the last (which
    // Last-Modified cannot tell) is still a change, and the edge's revalidation sees it.
    const body = await file.arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
    const etag = `"${[...digest.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;
    const headers = new Headers(file.headers);
    headers.set("etag", etag);
    headers.set("content-type", TYPES[path.split(".").pop()] ?? "application/octet-stream");
    headers.set("cache-control", "no-cache");
    headers.set("x-content-type-options", "nosniff");
    if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
    return new Response(request.method === "HEAD" ? null : body, { status: 200, headers });
  },
};
