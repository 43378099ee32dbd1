// SPDX-License-Identifier: MIT
// The browser UI benchmark (a program that prints a table, not a test).
// On the realistic one-hour, 4-thread, 1 kHz recording of the server's
// benchmark (tests/tools/ml_synth: stacks 10 to 60 deep; --generator gen for
// ml_gen's shallow one, --file F for a recording of yours), served
// by the real `microlog serve`, in headless Debian chromium:
//  - time from navigation to the first complete timeline (every tile of
//    every selected thread, the status lines and log markers drawn), with
//    the server cold (just started) and warm (a second page);
//  - frame times over a scripted 200-step pan/zoom sequence: the time the
//    UI spends drawing each frame, and frame-to-frame intervals (median, p95);
//  - page memory: JS heap (CDP) and the renderer process's RSS.
// Usage: node bench/ui/bench.mjs [--file F.mlog] [--generator synth|gen]
//        [--seconds 3600] [--width 1600]
//        [--out bench/ui/RESULTS.md]
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { generate, launch, ROOT, serve } from "../../tests/web/harness.mjs";

const SYNTH = join(ROOT, "build/tests/tools/ml_synth");

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const seconds = Number(arg("seconds", "3600"));
const width = Number(arg("width", "1600"));
const out = arg("out", join(ROOT, "bench/ui/RESULTS.md"));
const file = arg("file", null);
const generator = arg("generator", "synth");

const dir = mkdtempSync(join(tmpdir(), "ml-ui-bench-"));
const stamp = "2026_12_01_10_00_00_1";
let what;
if (file) {
  mkdirSync(join(dir, "bench"), { recursive: true });
  copyFileSync(file, join(dir, "bench", `${stamp}.mlog`));
  what = file;
} else if (generator === "gen") {
  generate(dir, stamp, ["--seconds", String(seconds), "--threads", "4", "--rate", "1000"]);
  what = `ml_gen --seconds ${seconds} --threads 4 --rate 1000`;
} else {
  mkdirSync(join(dir, "gen"), { recursive: true });
  const args = ["--seconds", String(seconds), "--threads", "4", "--rate", "1000"];
  const r = spawnSync(SYNTH, [join(dir, "gen", `${stamp}.mlog`), ...args], {
    encoding: "utf8",
    timeout: 600000,
  });
  if (r.status !== 0) throw new Error(`ml_synth failed: ${r.stderr}`);
  what = `ml_synth ${args.join(" ")} (stacks 10 to 60 deep)`;
}
const label = file ? "bench" : "gen";
const runId = `${label}/${stamp}`;

const quantile = (a, q) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

/** The largest chromium renderer's memory in MB: RSS, and its own part (private pages, no shared libraries). */
function rendererMemory() {
  let rss = 0;
  let own = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("--type=renderer") || !cmd.includes("chromium")) continue;
      const roll = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const field = (name) => Number((new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(roll) ?? [0, 0])[1]);
      if (field("Rss") > rss) {
        rss = field("Rss");
        own = field("Private_Clean") + field("Private_Dirty");
      }
    } catch {
      /* gone */
    }
  }
  return { rss: rss / 1024, own: own / 1024 };
}

const server = await serve(dir);
const browser = await launch();
const rows = [];
let baseline = { rss: 0, own: 0 };
try {
  {
    const blank = await browser.newPage();
    await blank.goto("about:blank");
    await new Promise((r) => setTimeout(r, 300));
    baseline = rendererMemory();
    await blank.close();
  }
  async function firstRender(name) {
    const page = await browser.newPage({
      viewport: { width: width + 270, height: 1000 },
    });
    const t0 = Date.now();
    await page.goto(`${server.url}/#run=${runId}`);
    await page.waitForFunction(() => document.body.dataset.complete === "1" && window.__ml.store.state.endUs > 0, null, { timeout: 120000, polling: "raf" });
    const ms = Date.now() - t0;
    rows.push([`first complete timeline, ${name}`, `${ms} ms`, "< 1000 ms", ms < 1000 ? "met" : "MISSED"]);
    return page;
  }
  const cold = await firstRender("server cold");
  await cold.close();
  const page = await firstRender("server warm");

  // 200 steps: zoom in around moving points, pan, zoom out, as a user would.
  const result = await page.evaluate(async () => {
    const tl = window.__ml.timeline;
    const st = window.__ml.store;
    const end = st.state.endUs;
    const frame = () => new Promise((r) => requestAnimationFrame(() => r(performance.now())));
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    tl.frameTimes.length = 0;
    const gaps = [];
    let last = await frame();
    for (let i = 0; i < 200; i++) {
      const v = st.state.view;
      const w = v.to - v.from;
      const phase = Math.floor(i / 25) % 4;
      if (phase === 0) tl.zoomAt(v.from + w * rnd(), 0.7);
      else if (phase === 1) tl.setView({ from: v.from + w * 0.08, to: v.to + w * 0.08 });
      else if (phase === 2) tl.setView({ from: v.from - w * 0.05, to: v.to - w * 0.05 });
      else tl.zoomAt(v.from + w * rnd(), 1.35);
      const now = await frame();
      gaps.push(now - last);
      last = now;
    }
    const draws = [...tl.frameTimes];
    // Let the last picture complete, to count it.
    const t0 = performance.now();
    while (document.body.dataset.complete !== "1" && performance.now() - t0 < 20000) await frame();
    return { draws, gaps, end, settle: performance.now() - t0 };
  });
  const med = quantile(result.draws, 0.5);
  const p95 = quantile(result.draws, 0.95);
  rows.push(["draw time per frame, median", `${med.toFixed(2)} ms`, "", ""]);
  rows.push(["draw time per frame, p95", `${p95.toFixed(2)} ms`, "< 16 ms", p95 < 16 ? "met" : "MISSED"]);
  rows.push(["frame interval, median", `${quantile(result.gaps, 0.5).toFixed(1)} ms`, "", ""]);
  rows.push(["frame interval, p95", `${quantile(result.gaps, 0.95).toFixed(1)} ms`, "(headless, no GPU)", ""]);
  rows.push(["frames drawn / steps", `${result.draws.length} / 200`, "", ""]);
  rows.push(["detail settled after the last step", `${result.settle.toFixed(0)} ms`, "", ""]);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  await cdp.send("HeapProfiler.collectGarbage");
  const metrics = Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
  const heap = metrics.JSHeapUsedSize / 2 ** 20;
  const mem = rendererMemory();
  rows.push(["page JS heap used (after GC)", `${heap.toFixed(1)} MB`, "< 150 MB", heap < 150 ? "met" : "MISSED"]);
  rows.push(["page JS heap total", `${(metrics.JSHeapTotalSize / 2 ** 20).toFixed(1)} MB`, "", ""]);
  rows.push(["renderer private memory (USS)", `${mem.own.toFixed(0)} MB`, "< 150 MB", mem.own < 150 ? "met" : "MISSED"]);
  rows.push(["renderer RSS (with shared libraries)", `${mem.rss.toFixed(0)} MB`, "", ""]);
  rows.push(["about:blank renderer: USS / RSS", `${baseline.own.toFixed(0)} / ${baseline.rss.toFixed(0)} MB`, "", ""]);
  rows.push(["DOM nodes", String(metrics.Nodes), "", ""]);
} finally {
  await browser.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

const cpu = (readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? "?";
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const chromium = spawnSync("/usr/bin/chromium", ["--version"], {
  encoding: "utf8",
}).stdout.trim();
const table = [
  `Recording: ${what}; viewport ${width} px of timeline; ${chromium}, headless, --disable-gpu; ${cpu}, 2 cores, load average ${load} at the end (the cores are shared: frame figures grow with it).`,
  "",
  "| measure | value | goal | |",
  "| --- | --- | --- | --- |",
  ...rows.map((r) => `| ${r.join(" | ")} |`),
].join("\n");
console.log(table);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `# UI benchmark (bench/ui/bench.mjs)\n\n\`node bench/ui/bench.mjs\`, ${new Date().toISOString().slice(0, 16)} UTC.\n\n${table}\n`);
