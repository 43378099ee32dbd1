// SPDX-License-Identifier: MIT
// What the browser tests share: recordings made by the real recorder and
// by the generator in a temporary MICROLOG_DIR, the real `microlog serve`
// on 127.0.0.1 at a free port, and Debian's chromium driven by
// playwright-core (never a downloaded browser). Screenshots go to
// build/screenshots/. ML_E2E_URL points the tests at a running server
// instead (no recordings made then).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SHOTS = join(ROOT, "build/screenshots");
// playwright-core lives in web/node_modules, beside the UI it tests.
const { chromium } = createRequire(join(ROOT, "web/package.json"))("playwright-core");
const PY = join(ROOT, ".venv/bin/python");
const SERVE = process.env.ML_SERVE ?? join(ROOT, "build/microlog");
const GEN = join(ROOT, "build/tests/tools/ml_gen");

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

export function record(dir, label, script, args = [], wait = true) {
  const env = { ...process.env, MICROLOG_DIR: dir };
  if (!wait)
    return spawn(PY, ["-m", "microlog", label, script, ...args], {
      env,
      stdio: "ignore",
    });
  const r = spawnSync(PY, ["-m", "microlog", label, script, ...args], {
    env,
    encoding: "utf8",
    timeout: 60000,
  });
  if (r.status !== 0) throw new Error(`recording ${label} failed: ${r.stderr}`);
  return null;
}

export function generate(dir, stamp, args) {
  mkdirSync(join(dir, "gen"), { recursive: true });
  const r = spawnSync(GEN, [join(dir, "gen", `${stamp}.mlog`), ...args], {
    encoding: "utf8",
    timeout: 120000,
  });
  if (r.status !== 0) throw new Error(`ml_gen failed: ${r.stderr}`);
}

/**
 * Start `microlog serve --dir DIR` on a free port; resolves to { url, stop }.
 * No model is set unless `extraEnv` sets one (MICROLOG_LLM_* of the caller's
 * environment are not passed on).
 */
export async function serve(dir, extraEnv = {}) {
  const port = await freePort();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MICROLOG_LLM_")));
  const child = spawn(SERVE, ["serve", "--dir", dir, "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...base, MICROLOG_UI_DIR: join(ROOT, "build/web"), ...extraEnv },
  });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  child.stdout.on("data", () => {});
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`microlog serve exited: ${err}`);
    try {
      if ((await fetch(`${url}/api/runs`)).ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () =>
      new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        child.on("exit", ok);
        child.kill("SIGTERM");
      }),
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.ML_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
}

/** One server, recordings and a browser for a whole test file (`gen`: also a generated run). */
export async function setup({ live = false, gen = true } = {}) {
  mkdirSync(SHOTS, { recursive: true });
  let dir = null;
  let server;
  if (process.env.ML_E2E_URL) server = { url: process.env.ML_E2E_URL, stop: async () => {} };
  else {
    dir = mkdtempSync(join(tmpdir(), "ml-ui-"));
    record(dir, "app", join(ROOT, "tests/web/sample_app.py"));
    if (gen) generate(dir, "2026_12_01_09_00_00_1", ["--seconds", "20", "--threads", "4"]);
    server = await serve(dir);
  }
  const browser = await launch();
  return {
    dir,
    url: server.url,
    browser,
    async api(path, init) {
      const r = await fetch(server.url + path, init);
      if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      return r.json();
    },
    async close() {
      await browser.close();
      await server.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    live,
  };
}

/** A page that fails the test on any page error or CSP violation. */
export async function page(env, width = 1400, height = 900) {
  const p = await env.browser.newPage({ viewport: { width, height } });
  p.problems = [];
  p.on("pageerror", (e) => p.problems.push(`page error: ${e.message}`));
  p.on("response", (r) => {
    if (r.status() >= 400 && !/favicon/.test(r.url())) p.problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  p.on("console", (m) => {
    if (m.type() === "error" && !/favicon|Failed to load resource/.test(m.text())) p.problems.push(`console: ${m.text()}`);
  });
  return p;
}

export async function shot(p, name) {
  await p.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Wait until the timeline has drawn everything it asked for (after a fresh frame). */
export async function complete(p, timeout = 15000) {
  await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await p.waitForFunction(() => document.body.dataset.complete === "1", null, {
    timeout,
  });
}
