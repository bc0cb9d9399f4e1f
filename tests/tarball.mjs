// What the package suites share: the package as a user gets it — `npm pack` of pkg/ (once per
// test process), installed from the tarball into a fresh project, offline.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { root } from "./personas.mjs";

let packed = null;

const npm = (cwd, ...args) => execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8" });

/** The path of the packed tarball of pkg/. */
export function tarball() {
  if (!packed) {
    const dir = mkdtempSync(join(tmpdir(), "opmaat-tarball-"));
    packed = join(dir, npm(dir, "pack", join(root, "pkg"), "--pack-destination", dir).trim().split("\n").at(-1));
  }
  return packed;
}

/** A fresh ES-module project (`prefix` names its temporary folder) with the tarball installed in it. */
export function installedProject(prefix, name = "bank-site") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  npm(dir, "install", "--offline", tarball());
  return dir;
}
