// SPDX-License-Identifier: MIT
// End-to-end tests of the browser UI: headless chromium against the real
// `microlog serve` over real recordings (harness.mjs). Each step leaves a
// screenshot in build/screenshots/. Run: node --test tests/web/
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { join } from "node:path";
import { complete, page, record, ROOT, setup, shot } from "./harness.mjs";

let env;
let p;
let genRun;

before(async () => {
  env = await setup();
  const runs = await env.api("/api/runs");
  const gen = runs.labels.find((l) => l.label === "gen");
  assert.ok(gen, "a generated recording is listed");
  genRun = gen.runs[0];
  p = await page(env);
});

after(async () => {
  if (p) assert.deepEqual(p.problems, [], "no page errors or CSP violations");
  await env?.close();
});

const state = () =>
  p.evaluate(() => {
    const s = window.__ml.store.state;
    return {
      runId: s.runId,
      view: s.view,
      endUs: s.endUs,
      tab: s.tab,
      selection: s.selection,
      live: s.live,
      follow: s.follow,
      selectedTracks: s.selectedTracks,
      tracks: s.tracks.length,
    };
  });

/** Where the i-th shown track's first stack row is, in page coordinates. */
async function flameBox(i = 0) {
  const box = await p.evaluate((i) => window.__ml.timeline.trackBox(window.__ml.timeline.drawnSpans()[i]?.track ?? ""), i);
  assert.ok(box, "a flame chart is shown");
  return box;
}

test("open a run from the tree", async () => {
  await p.goto(`${env.url}/`);
  await p.locator(`.runtree .run[data-run="${genRun.id}"]`).click();
  await complete(p);
  const s = await state();
  assert.equal(s.runId, genRun.id);
  assert.ok(s.selectedTracks.length >= 1);
  assert.equal(await p.locator(".tl-track").count(), s.selectedTracks.length);
  assert.ok(Math.abs(s.view.to - s.endUs) < 1 && s.view.from === 0, "the whole run is shown first");
  assert.ok((await p.locator(".status-chart").count()) >= 2, "status lines are drawn");
  await p.waitForFunction(() => location.hash.includes("run="));
  await shot(p, "01-timeline");
});

test("pan by dragging", async () => {
  await p.keyboard.press("+");
  await p.keyboard.press("+");
  await complete(p);
  const before = (await state()).view;
  const box = await flameBox();
  await p.mouse.move(box.x + 600, box.y + 5);
  await p.mouse.down();
  await p.mouse.move(box.x + 500, box.y + 5, { steps: 5 });
  await p.mouse.move(box.x + 400, box.y + 5, { steps: 5 });
  await p.mouse.up();
  const after = (await state()).view;
  const perPx = (before.to - before.from) / box.width;
  assert.ok(Math.abs(after.from - before.from - 200 * perPx) < 3 * perPx, `panned by 200 px: ${before.from} -> ${after.from}`);
  assert.ok(Math.abs(after.to - after.from - (before.to - before.from)) < 1, "the width stays");
  await complete(p);
  await shot(p, "02-pan");
});

test("zoom with the wheel around the pointer, keys + - 0", async () => {
  const box = await flameBox();
  const before = (await state()).view;
  const x = box.x + box.width * 0.25;
  const tAt = before.from + ((x - box.x) / box.width) * (before.to - before.from);
  await p.mouse.move(x, box.y + 5);
  await p.mouse.wheel(0, -240);
  await p.waitForFunction((w) => window.__ml.store.state.view.to - window.__ml.store.state.view.from < w * 0.75, before.to - before.from);
  const after = (await state()).view;
  const tAfter = after.from + ((x - box.x) / box.width) * (after.to - after.from);
  assert.ok(Math.abs(tAfter - tAt) < (after.to - after.from) / 100, "the time under the pointer stays put");
  await complete(p);
  await shot(p, "03-zoom-wheel");
  await p.keyboard.press("-");
  const out = (await state()).view;
  assert.ok(Math.abs(out.to - out.from - 2 * (after.to - after.from)) < 2, "- zooms out by 2");
  await p.keyboard.press("0");
  const all = (await state()).view;
  assert.equal(all.from, 0);
  await complete(p);
});

/** Zoom into a tenth of the run and pick a drawn span at least 30 px wide at depth >= 1. */
async function pickSpan() {
  const s = await state();
  await p.evaluate((end) => window.__ml.timeline.setView({ from: end * 0.3, to: end * 0.4 }), s.endUs);
  await complete(p);
  const box = await flameBox();
  const sp = await p.evaluate((w) => {
    const v = window.__ml.store.state.view;
    const k = w / (v.to - v.from);
    const tr = window.__ml.timeline.drawnSpans()[0];
    const cands = tr.spans.filter((x) => x.depth >= 1 && (Math.min(x.e, v.to) - Math.max(x.s, v.from)) * k > 30);
    const sp = cands[0] ?? tr.spans[0];
    const a = Math.max(sp.s, v.from);
    const b = Math.min(sp.e, v.to);
    return {
      thread: sp.thread,
      depth: sp.depth,
      s: sp.s,
      e: sp.e,
      x: ((a + b) / 2 - v.from) * k,
      mid: (a + b) / 2,
    };
  }, box.width);
  return { sp, box };
}

test("click a span: the popup's numbers are the API's", async () => {
  const { sp, box } = await pickSpan();
  await p.mouse.move(box.x + sp.x, box.y + sp.depth * 17 + 8);
  await p.waitForSelector(".tl-tip:not([hidden])");
  await p.mouse.click(box.x + sp.x, box.y + sp.depth * 17 + 8);
  await p.waitForFunction(() => document.querySelector(".span-popup")?.dataset.durationUs !== undefined && !document.querySelector(".span-popup").hidden);
  const shown = await p.evaluate(() => ({
    ...document.querySelector(".span-popup").dataset,
  }));
  const view = (await state()).view;
  const at = Math.round(view.from + (sp.x / box.width) * (view.to - view.from));
  const a = await env.api(`/api/runs/${genRun.id}/span?thread=${sp.thread}&at=${at}&depth=${sp.depth}`);
  assert.equal(Number(shown.durationUs), a.duration_us);
  assert.equal(Number(shown.startUs), a.start_us);
  assert.equal(Number(shown.cpuShare), a.cpu_share);
  assert.equal(Number(shown.similar), a.similar.count);
  const text = await p.locator(".span-popup").innerText();
  assert.ok(text.includes(a.function.name), "the function is named");
  assert.ok((await p.locator(".span-popup a.src").getAttribute("href")).startsWith(`vscode://file/`), "source link");
  assert.equal(await p.locator(".span-popup .sim").count(), Math.min(200, a.similar.calls.length));
  await shot(p, "04-span-popup");
  await p.keyboard.press("Escape");
});

test("open a log marker and step to the next", async () => {
  await p.keyboard.press("0");
  await complete(p);
  const markers = await p.evaluate(() => window.__ml.timeline.markerPositions());
  assert.ok(markers.length > 2, "log markers are drawn");
  const m = markers.find((x) => x.x > 50) ?? markers[0];
  const box = await p.locator("canvas.tl-markers").boundingBox();
  await p.mouse.click(box.x + m.x, box.y + 9);
  await p.waitForSelector(".log-dialog:not([hidden])");
  const index = Number(await p.locator(".log-dialog").getAttribute("data-index"));
  const one = await env.api(`/api/runs/${genRun.id}/logs?offset=${index}&limit=1`);
  assert.equal(Number(await p.locator(".log-dialog").getAttribute("data-time")), one.entries[0].time_us);
  await shot(p, "05-log-dialog");
  await p.locator(".log-dialog button.next").click();
  await p.waitForFunction((i) => document.querySelector(".log-dialog").dataset.index === String(i + 1), index);
  const next = await env.api(`/api/runs/${genRun.id}/logs?offset=${index + 1}&limit=1`);
  assert.equal(Number(await p.locator(".log-dialog").getAttribute("data-time")), next.entries[0].time_us);
  assert.ok((await p.locator(".log-dialog .markdown").innerText()).includes(next.entries[0].text.replace(/[*`]/g, "").slice(0, 8)));
  await p.locator(".log-dialog button.close").click();
});

test("search and step through the hits", async () => {
  const fns = await env.api(`/api/runs/${genRun.id}/functions`);
  const name = fns.functions.find((f) => f.depth !== 0 && !f.name.startsWith("<"))?.name ?? fns.functions[0].name;
  const q = `^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
  const answer = await env.api(`/api/runs/${genRun.id}/search?q=${encodeURIComponent(q)}`);
  await p.locator("input.search").fill(q);
  await p.waitForFunction(() => Number(document.querySelector(".hits").dataset.hits) > 0, null, { timeout: 10000 });
  const hl = await p.evaluate(() => [...(window.__ml.store.state.highlight ?? [])]);
  assert.deepEqual(hl.sort(), answer.functions.map((f) => f.id).sort(), "the hits' functions are lit");
  await p.locator("button.hit-next").click();
  const h0 = await p.evaluate(() => {
    const s = window.__ml.store.state;
    return { index: s.search.index, hit: s.search.hits[0], view: s.view };
  });
  assert.equal(h0.index, 0);
  assert.ok(h0.view.from <= h0.hit.time && h0.hit.time <= h0.view.to, "the first hit is in view");
  await p.locator("button.hit-next").click();
  assert.equal(await p.evaluate(() => window.__ml.store.state.search.index), 1);
  await complete(p);
  await shot(p, "06-search");
  await p.locator("input.search").fill("");
  await p.waitForFunction(() => window.__ml.store.state.highlight === null);
  await p.locator("input.search").press("Escape");
});

test("select a range: the functions table follows", async () => {
  await p.keyboard.press("0");
  await complete(p);
  const box = await flameBox();
  await p.keyboard.down("Shift");
  await p.mouse.move(box.x + box.width * 0.2, box.y + 5);
  await p.mouse.down();
  await p.mouse.move(box.x + box.width * 0.5, box.y + 5, { steps: 8 });
  await p.mouse.up();
  await p.keyboard.up("Shift");
  const s = await state();
  assert.ok(s.selection && s.selection.to > s.selection.from, "a range is selected");
  await p.waitForSelector(".selpanel:not([hidden]) table.grid tbody tr");
  const threads = await p.evaluate(() => window.__ml.store.selectedThreads().join(","));
  const a = await env.api(`/api/runs/${genRun.id}/functions?from=${s.selection.from}&to=${s.selection.to}&thread=${threads}`);
  const rows = await p.locator(".selpanel table.grid").first().locator("tbody tr").count();
  assert.equal(rows, Math.min(25, a.functions.length));
  const first = await p.locator(".selpanel table.grid").first().locator("tbody tr").first().locator("td").allInnerTexts();
  assert.equal(first[0], a.functions[0].name);
  assert.equal(first[2], String(a.functions[0].calls));
  await shot(p, "07-selection");
  await p.locator(".selpanel").evaluate((e) => e.scrollIntoView({ block: "start" }));
  await p.waitForTimeout(100);
  await shot(p, "08-selection-panel");
  await p.locator(".content").evaluate((c) => c.scrollTo(0, 0));
});

test("switch tabs: log, functions, design, and back", async () => {
  await p.locator('button.tab[data-tab="log"]').click();
  await p.waitForSelector(".logtab .logline");
  const s = await state();
  const logs = await env.api(`/api/runs/${genRun.id}/logs?from=${s.selection.from}&to=${s.selection.to}&limit=500`);
  assert.equal(await p.locator(".logtab .logline").count(), logs.entries.length);
  await shot(p, "09-log-tab");
  await p.locator('button.tab[data-tab="functions"]').click();
  await p.waitForSelector(".tab-functions table.grid tbody tr");
  await shot(p, "10-functions-tab");
  await p.locator('button.tab[data-tab="design"]').click();
  await p.waitForSelector(".design svg.callgraph g.node");
  const g = await env.api(`/api/runs/${genRun.id}/callgraph`);
  assert.equal(await p.locator(".design svg.callgraph g.node").count(), g.nodes.length);
  await shot(p, "11-design-tab");
  await p.locator('button.tab[data-tab="timeline"]').click();
  await complete(p);
  assert.equal((await state()).tab, "timeline");
});

test("a deep link reopens the same view", async () => {
  await p.waitForTimeout(400);
  const s = await state();
  const hash = await p.evaluate(() => location.hash);
  const q = await page(env);
  await q.goto(`${env.url}/${hash}`);
  await complete(q);
  const t = await q.evaluate(() => {
    const s = window.__ml.store.state;
    return {
      runId: s.runId,
      view: s.view,
      selection: s.selection,
      tracks: s.selectedTracks,
    };
  });
  assert.equal(t.runId, s.runId);
  assert.ok(Math.abs(t.view.from - s.view.from) <= 1 && Math.abs(t.view.to - s.view.to) <= 1);
  assert.deepEqual(t.tracks, s.selectedTracks);
  assert.deepEqual(q.problems, []);
  await q.close();
});

test("the Markdown of log messages is sanitized", async () => {
  const runs = await env.api("/api/runs");
  const app = runs.labels.find((l) => l.label === "app");
  if (!app) return; // a server given by ML_E2E_URL may not have it
  await p.goto(`${env.url}/#run=${app.runs[0].id}&tab=log`);
  await p.waitForSelector(".logtab .logline");
  assert.equal(await p.locator(".logtab .markdown script").count(), 0);
  for (const href of await p.locator(".logtab .markdown a").evaluateAll((as) => as.map((a) => a.getAttribute("href")))) {
    assert.ok(href === null || !/^javascript:/i.test(href), `no javascript: link (${href})`);
  }
  await p.locator('button.tab[data-tab="timeline"]').click();
  await complete(p);
  // The short-lived request threads share one track (the recorder may not
  // know their names: then they are grouped as unnamed).
  const group = p.locator('.threads input[data-track^="g:"]');
  assert.equal(await group.count(), 1, "short-lived threads of one name are grouped");
  if (!(await group.isChecked())) await group.check();
  await complete(p);
  await p.waitForSelector('.tl-track[data-track^="g:"]');
  await shot(p, "12-app-timeline");
});

test("the slow call of a recorded program is marked anomalous in its popup", async () => {
  const runs = await env.api("/api/runs");
  const app = runs.labels.find((l) => l.label === "app");
  if (!app) return;
  const id = app.runs[0].id;
  const sum = await env.api(`/api/runs/${id}/summary`);
  const main = sum.threads.reduce((a, b) => (b.samples > a.samples ? b : a));
  const tl = await env.api(`/api/runs/${id}/timeline?thread=${main.id}&width=16384`);
  const fid = Object.entries(tl.functions).find(([, f]) => f.name === "handle")?.[0];
  assert.ok(fid, "handle() was sampled");
  const spans = tl.threads[0].spans.filter((s) => String(s[3]) === fid);
  const slow = spans.reduce((a, b) => (b[1] - b[0] > a[1] - a[0] ? b : a));
  const d = slow[1] - slow[0];
  await p.evaluate(([a, b]) => window.__ml.timeline.setView({ from: a, to: b }), [slow[0] - d, slow[1] + d]);
  await complete(p);
  const track = await p.evaluate((t) => window.__ml.timeline.drawnSpans().findIndex((x) => x.track === String(t)), main.id);
  assert.ok(track >= 0, "the main thread is shown");
  const box = await flameBox(track);
  const v = (await state()).view; // clamped to the run: not centred on the call
  const mid = slow[0] + d / 2;
  await p.mouse.click(box.x + ((mid - v.from) / (v.to - v.from)) * box.width, box.y + slow[2] * 17 + 8);
  await p.waitForFunction(() => document.querySelector(".span-popup")?.dataset.startUs !== undefined && !document.querySelector(".span-popup").hidden);
  const a = await env.api(`/api/runs/${id}/span?thread=${main.id}&at=${Math.round(mid)}&depth=${slow[2]}`);
  assert.equal(a.function.name, "handle");
  assert.equal(Number(await p.locator(".span-popup").getAttribute("data-duration-us")), a.duration_us);
  assert.equal(await p.locator(".span-popup .sim.anomaly").count(), Math.min(200, a.similar.calls.filter((c) => c.anomaly).length));
  assert.equal(await p.locator(".span-popup .anomaly-note").count(), a.anomaly ? 1 : 0);
  await shot(p, "12-app-span-anomaly");
  await p.keyboard.press("Escape");
});

test("follow a live run that grows", async () => {
  let child = null;
  if (env.dir) child = record(env.dir, "live", join(ROOT, "tests/web/sample_app.py"), ["8"], false);
  try {
    let run = null;
    for (let i = 0; i < 100 && !run; i++) {
      const runs = await env.api("/api/runs");
      run = runs.labels.find((l) => l.label === "live")?.runs.find((r) => r.live) ?? null;
      if (!run) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(run, "the live run is listed as live");
    await p.goto(`${env.url}/#run=${run.id}`);
    await p.waitForFunction(() => window.__ml.store.state.live && window.__ml.store.state.endUs > 0);
    assert.equal(await p.locator(`.runtree .run[data-run="${run.id}"] .live`).count(), 1, "marked live in the tree");
    const s0 = await state();
    assert.ok(s0.follow, "a live run opened whole follows its end");
    await p.waitForFunction((e) => window.__ml.store.state.endUs > e + 1500000, s0.endUs, { timeout: 8000 });
    const s1 = await state();
    assert.ok(Math.abs(s1.view.to - s1.endUs) < 1, "the view follows the end");
    await complete(p);
    await shot(p, "13-live");
    // Pan away: the view stays where the user put it while the run grows.
    await p.evaluate(() => window.__ml.timeline.setView({ from: 0, to: 1000000 }));
    const e1 = (await state()).endUs;
    await p.waitForFunction((e) => window.__ml.store.state.endUs > e, e1, {
      timeout: 5000,
    });
    const s2 = await state();
    assert.ok(!s2.follow && s2.view.from === 0 && s2.view.to === 1000000, "the view stays put");
  } finally {
    child?.kill("SIGTERM");
  }
});
