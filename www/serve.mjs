// The demo's web server: serves www/, the built package under /pkg/ and the signed demo bundle
// under /bundles/, on 127.0.0.1 only. Started by `./build.sh demo`.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const mounts = [
  ["/pkg/", join(root, "pkg")],
  ["/bundles/", join(root, "target", "demo")],
  ["/", join(root, "www")],
];
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".opb": "application/octet-stream",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

const portArg = process.argv.indexOf("--port");
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 8080;

/** The file a URL path names, or null when it would leave its mount. */
function resolve(urlPath) {
  const path = decodeURIComponent(urlPath.split("?")[0]);
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    return file === dir || file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

const server = createServer(async (req, res) => {
  let file = resolve(req.url);
  try {
    if (file && (await stat(file)).isDirectory()) file = join(file, "index.html");
    if (!file) throw Object.assign(new Error("outside the served folders"), { code: "ENOENT" });
    const body = await readFile(file);
    res.writeHead(200, {
      "content-type": types[extname(file)] ?? "application/octet-stream",
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  } catch (e) {
    res.writeHead(e.code === "ENOENT" ? 404 : 500, { "content-type": "text/plain; charset=utf-8" });
    res.end(e.code === "ENOENT" ? "not found\n" : "server error\n");
    if (e.code !== "ENOENT") console.error(req.url, e);
  }
});

server.listen(port, "127.0.0.1", () => {
  console.log(`opmaat demo: http://127.0.0.1:${server.address().port}/  (Ctrl-C stops it)`);
});
