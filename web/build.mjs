// SPDX-License-Identifier: MIT
// Bundles the viewer into OUT (default ../build/web): index.html, app.js,
// app.css, nothing else needed at run time. `node build.mjs --watch` rebuilds.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.env.OUT ?? resolve(here, "../build/web"));
mkdirSync(out, { recursive: true });
const options = {
  entryPoints: { app: resolve(here, "src/main.ts") },
  outdir: out,
  bundle: true,
  format: "iife",
  target: "es2022",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
};
copyFileSync(resolve(here, "index.html"), resolve(out, "index.html"));
if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
