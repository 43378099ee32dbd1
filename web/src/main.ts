// SPDX-License-Identifier: MIT
// The microlog viewer: wires the store, the views and the server together.
// Layout: the run tree at the left; at the right the run's header (tabs,
// threads, search) and the tab shown. The URL's hash mirrors the state.

import "uplot/dist/uPlot.min.css";
import "./app.css";
import { api, type LogEntry } from "./api";
import { fmtDuration, fmtStamp, fmtValue } from "./format";
import { Store, TABS, clampView, type SearchHit, type State, type Tab } from "./store";
import { defaultSelection, makeTracks } from "./tracks";
import { formatLink, parseLink } from "./url";
import { DesignTab } from "./views/design";
import { button, el } from "./views/dom";
import { ExplainTab } from "./views/explain";
import { FlameGraph } from "./views/flamegraph";
import { FunctionsTable } from "./views/functable";
import { LogDialog } from "./views/logdialog";
import { LogTab, logLine } from "./views/logtab";
import { RunTree } from "./views/runtree";
import { SpanPopup } from "./views/spanpopup";
import { TimelineView } from "./views/timeline";
import { TipsTab } from "./views/tips";

const store = new Store();

// ---- views ---------------------------------------------------------------

const app = el("div", "app");
const side = new RunTree(
  store,
  (id) => void openRun(id, null),
  () => pollRuns(),
);
const mainEl = el("main", "main");
const header = el("header", "runhead");
const title = el("div", "title", "open a run from the tree");
const tabsEl = el("div", "tabs");
const threadsEl = el("div", "threads");
const searchBox = el("input", "search");
searchBox.placeholder = "search (regex): functions, logs, series";
searchBox.spellcheck = false;
const hitsEl = el("span", "hits");
const prevHit = button("‹", "hit-prev", () => stepHit(-1));
const nextHit = button("›", "hit-next", () => stepHit(1));
const followBtn = button("follow end", "follow", () => {
  const s = store.state;
  const w = s.view.to - s.view.from;
  store.set({ follow: !s.follow, view: !s.follow ? { from: s.endUs - w, to: s.endUs } : s.view });
});
const searchBar = el("div", "searchbar");
searchBar.append(searchBox, prevHit, hitsEl, nextHit, followBtn);
header.append(title, tabsEl, searchBar, threadsEl);

const popup = new SpanPopup((thread, start, duration, depth) => {
  const pad = Math.max(duration * 0.5, 10);
  timeline.setView({ from: start - pad, to: start + duration + pad });
  timeline.pick(thread, start, depth);
  const id = store.state.runId;
  if (id) void popup.open(id, thread, start + duration / 2, depth, 0, 0);
});
const timeline = new TimelineView(store, {
  openSpan: (thread, sp, x, y) => {
    const id = store.state.runId;
    if (id) void popup.open(id, thread, (sp.s + sp.e) / 2, sp.depth, x, y);
  },
  openLog: (e) => showLog(e),
});
popup.onClose = () => timeline.unpick();
const dialog = new LogDialog(store, (e) => showLog(e));

// Range selection panel under the flame charts.
const selPanel = el("section", "selpanel");
const selStats = el("div", "selstats");
const selFuncs = new FunctionsTable((r) => highlightFunction(r.id), 25);
const selFlame = new FlameGraph();
const selLogs = el("div", "sellogs");
selPanel.hidden = true;
const selHead = el("h3", undefined, "selection");
selPanel.append(
  selHead,
  selStats,
  el("h4", undefined, "functions in the range"),
  selFuncs.root,
  el("h4", undefined, "flame graph of the range"),
  selFlame.root,
  el("h4", undefined, "log of the range"),
  selLogs,
);

const timelineTab = el("section", "tab-timeline");
timelineTab.append(timeline.root, selPanel);
const logTab = new LogTab(store, (e) => showLog(e));
const funcsTab = el("section", "tab-functions");
const funcs = new FunctionsTable((r) => highlightFunction(r.id));
funcsTab.append(funcs.root);
const design = new DesignTab(store);
const explain = new ExplainTab(store);
const tips = new TipsTab(store);
const panes: Record<Tab, HTMLElement> = {
  timeline: timelineTab,
  log: logTab.root,
  functions: funcsTab,
  design: design.root,
  explanation: explain.root,
  tips: tips.root,
};
const content = el("div", "content");
for (const t of TABS) {
  panes[t].classList.add("pane");
  content.append(panes[t]);
  const b = button(t[0]!.toUpperCase() + t.slice(1), "tab", () => store.set({ tab: t }));
  b.dataset.tab = t;
  tabsEl.append(b);
}
mainEl.append(header, content);
app.append(side.root, mainEl);
document.body.append(app, popup.root, dialog.root);

// ---- actions -------------------------------------------------------------

function showLog(e: LogEntry): void {
  const s = store.state;
  const w = s.view.to - s.view.from;
  const inView = e.time_us >= s.view.from && e.time_us <= s.view.to;
  store.set({ tab: "timeline", dialog: e, view: inView ? s.view : clampView({ from: e.time_us - w / 2, to: e.time_us + w / 2 }, s.endUs) });
}

function highlightFunction(fid: number): void {
  store.set({ highlight: new Set([fid]), highlightFrom: "function", tab: "timeline" });
}

let openSeq = 0;
async function openRun(id: string, link: ReturnType<typeof parseLink> | null, runs: Promise<void> | null = null): Promise<void> {
  const seq = ++openSeq;
  popup.close();
  // Nothing of the previous run may be asked of this one: no tracks until its summary.
  store.set({
    runId: id,
    run: null,
    summary: null,
    tracks: [],
    selectedTracks: [],
    endUs: 0,
    live: false,
    follow: false,
    dialog: null,
    selection: link?.selection ?? null,
    highlight: null,
    highlightFrom: null,
    search: { q: "", answer: null, hits: [], index: -1, error: null },
    error: null,
    tab: link?.tab ?? store.state.tab,
  });
  try {
    const a = await api.summary(id);
    if (seq !== openSeq) return;
    const sum = a.body;
    const find = () => store.state.runs?.labels.flatMap((l) => l.runs).find((r) => r.id === id) ?? null;
    if (runs) await runs;
    if (!find()) await pollRuns(); // a run newer than the tree
    if (seq !== openSeq) return;
    const run = find();
    const end = a.endUs ?? run?.duration_us ?? Math.round(sum.duration_s * 1e6);
    const live = a.live ?? run?.live ?? !sum.complete;
    const tracks = makeTracks(sum.threads, end);
    const keys = new Set(tracks.map((t) => t.key));
    const chosen = link?.threads?.filter((k) => keys.has(k));
    const view = link?.view ? clampView(link.view, end) : { from: 0, to: Math.max(end, 10) };
    store.set({
      summary: sum,
      run,
      endUs: end,
      live,
      tracks,
      selectedTracks: chosen && chosen.length ? chosen : defaultSelection(tracks),
      view,
      follow: live && view.to >= end * 0.999,
    });
    if (link?.q) {
      searchBox.value = link.q;
      void runSearch(link.q);
    } else searchBox.value = "";
  } catch (e) {
    if (seq === openSeq) store.set({ error: `cannot open ${id}: ${String(e)}` });
  }
}

// ---- search ----------------------------------------------------------------

let searchSeq = 0;
async function runSearch(q: string): Promise<void> {
  const s = store.state;
  const id = s.runId;
  const seq = ++searchSeq;
  if (!id || !q) {
    store.set({
      search: { q: "", answer: null, hits: [], index: -1, error: null },
      highlight: s.highlightFrom === "search" ? null : s.highlight,
      highlightFrom: s.highlightFrom === "search" ? null : s.highlightFrom,
    });
    return;
  }
  try {
    const a = (await api.search(id, q)).body;
    const fids = new Set(a.functions.map((f) => f.id));
    const hits: SearchHit[] = a.logs.map((l) => ({ time: l.time_us, end: l.time_us, kind: "log", index: l.index }));
    const threads = store.selectedThreads();
    if (fids.size && threads.length) {
      const tl = (await api.timeline(id, threads, 0, store.state.endUs, 2048)).body;
      for (const th of tl.threads) {
        const spans = th.spans.filter((sp) => fids.has(sp[3])).sort((x, y) => x[0] - y[0] || x[2] - y[2]);
        let lastEnd = -1;
        for (const sp of spans) {
          if (sp[0] < lastEnd) continue; // inside the previous hit (recursion, nesting)
          lastEnd = sp[1];
          hits.push({ time: sp[0], end: sp[1], kind: "span", thread: th.id, depth: sp[2], fid: sp[3] });
        }
      }
    }
    hits.sort((x, y) => x.time - y.time);
    if (seq !== searchSeq) return;
    store.set({ search: { q, answer: a, hits: hits.slice(0, 5000), index: -1, error: null }, highlight: fids, highlightFrom: "search" });
  } catch (e) {
    if (seq !== searchSeq) return;
    store.set({ search: { q, answer: null, hits: [], index: -1, error: String(e instanceof Error ? e.message : e) } });
  }
}

function stepHit(d: number): void {
  const s = store.state.search;
  if (!s.hits.length) return;
  const index = (s.index + d + s.hits.length) % s.hits.length;
  const h = s.hits[index]!;
  store.set({ search: { ...s, index } });
  const v = store.state.view;
  const w = v.to - v.from;
  const len = h.end - h.time;
  if (h.kind === "span" && (len > w * 0.9 || len < w * 0.002)) {
    const pad = Math.max(len * 0.5, 50);
    timeline.setView({ from: h.time - pad, to: h.end + pad });
  } else {
    const mid = (h.time + h.end) / 2;
    timeline.setView({ from: mid - w / 2, to: mid + w / 2 });
  }
  if (h.kind === "span" && h.thread !== undefined && h.depth !== undefined) timeline.pick(h.thread, h.time, h.depth);
}

let searchTimer = 0;
searchBox.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => void runSearch(searchBox.value), 300);
});
searchBox.addEventListener("keydown", (e) => {
  if (e.key === "Escape") searchBox.blur();
  if (e.key === "Enter") {
    clearTimeout(searchTimer);
    if (searchBox.value !== store.state.search.q) void runSearch(searchBox.value);
    else stepHit(e.shiftKey ? -1 : 1);
  }
});

// ---- rendering of the header and panels -------------------------------------

function renderHeader(s: State): void {
  const run = s.run;
  title.replaceChildren();
  if (s.error) title.append(el("span", "error", s.error));
  else if (s.runId) {
    title.append(el("b", undefined, s.runId), " ");
    if (s.summary) {
      // A run just started may not have said its command and Python yet.
      const parts = [
        s.summary.command,
        s.summary.python ? `Python ${s.summary.python}` : null,
        fmtDuration(s.endUs),
        run && run.start_unix_ns ? `started ${fmtStamp(run.start_unix_ns)}` : null,
      ];
      title.append(el("span", "sub", parts.filter(Boolean).join(" · ")));
    }
    if (s.live) title.append(el("span", "live", "live"));
  }
  for (const b of tabsEl.querySelectorAll<HTMLButtonElement>("button")) b.classList.toggle("active", b.dataset.tab === s.tab);
  for (const t of TABS) panes[t].hidden = t !== s.tab;
  followBtn.hidden = !s.live;
  followBtn.classList.toggle("on", s.follow);
}

function renderThreads(s: State): void {
  threadsEl.replaceChildren();
  for (const t of s.tracks) {
    const lab = el("label", "thread");
    const cb = el("input");
    cb.type = "checkbox";
    cb.checked = s.selectedTracks.includes(t.key);
    cb.dataset.track = t.key;
    cb.addEventListener("change", () => {
      const cur = store.state.selectedTracks.filter((k) => k !== t.key);
      store.set({ selectedTracks: cb.checked ? [...cur, t.key] : cur });
    });
    lab.append(cb, ` ${t.label}`);
    lab.title = `${t.samples} samples`;
    threadsEl.append(lab);
  }
}

function renderSearch(s: State): void {
  const q = s.search;
  searchBox.classList.toggle("bad", q.error !== null);
  if (q.error) hitsEl.textContent = q.error;
  else if (!q.answer) hitsEl.textContent = "";
  else {
    const a = q.answer;
    hitsEl.textContent = `${q.index >= 0 ? `${q.index + 1} / ` : ""}${q.hits.length} hits · ${a.functions.length} functions, ${a.logs.length} logs, ${a.series.length} series${a.truncated ? " (truncated)" : ""}`;
  }
  hitsEl.dataset.hits = String(q.hits.length);
  prevHit.hidden = nextHit.hidden = !q.hits.length;
  hitsEl.dataset.index = String(q.index);
}

let selSeq = 0;
async function renderSelection(s: State): Promise<void> {
  const sel = s.selection;
  selPanel.hidden = !sel;
  const id = s.runId;
  if (!sel || !id) return;
  const seq = ++selSeq;
  const threads = store.selectedThreads().join(",");
  selHead.textContent = `selection ${fmtDuration(sel.to - sel.from)} (${fmtDuration(sel.from)} – ${fmtDuration(sel.to)}), threads ${threads || "all"}`;
  const [st, fn, fg, lg] = await Promise.allSettled([
    api.status(id, sel.from, sel.to, 1),
    api.functions(id, sel.from, sel.to, threads || undefined),
    api.flamegraph(id, sel.from, sel.to, threads || undefined),
    api.logs(id, { from: sel.from, to: sel.to, limit: 50 }),
  ]);
  if (seq !== selSeq) return;
  selStats.replaceChildren();
  if (st.status === "fulfilled") {
    for (const se of st.value.body.series) {
      const f = (v: number) => fmtValue(v, se.unit);
      selStats.append(el("span", "stat", `${se.name}: mean ${f(se.stats.mean)}, min ${f(se.stats.min)}, max ${f(se.stats.max)} (${se.stats.count})`));
    }
  }
  selFuncs.set(fn.status === "fulfilled" ? fn.value.body : null);
  selFlame.set(fg.status === "fulfilled" ? fg.value.body : null, fn.status === "fulfilled" ? fn.value.body.interval_us : (s.summary?.interval_us ?? 1000));
  selLogs.replaceChildren();
  if (lg.status === "fulfilled") {
    for (const e of lg.value.body.entries) selLogs.append(logLine(e, showLog, null));
    if (lg.value.body.total > lg.value.body.entries.length)
      selLogs.append(el("div", "sub", `${lg.value.body.total - lg.value.body.entries.length} more in the Log tab`));
  }
}

let funcsFor = "";
async function renderFunctions(s: State): Promise<void> {
  const id = s.runId;
  if (s.tab !== "functions" || !id) return;
  const threads = store.selectedThreads().join(",");
  const key = `${id}|${s.selection?.from}|${s.selection?.to}|${threads}|${s.dataVersion}`;
  if (key === funcsFor) return;
  funcsFor = key;
  try {
    funcs.set((await api.functions(id, s.selection?.from, s.selection?.to, threads || undefined)).body);
  } catch (e) {
    funcs.root.replaceChildren(el("div", "error", String(e)));
  }
}

// ---- URL ---------------------------------------------------------------------

let written = "";
let urlTimer = 0;
function writeUrl(s: State): void {
  clearTimeout(urlTimer);
  urlTimer = window.setTimeout(() => {
    const h = formatLink({
      run: s.runId,
      tab: s.tab,
      threads: s.runId ? s.selectedTracks : null,
      view: s.runId ? s.view : null,
      selection: s.selection,
      q: s.search.q,
    });
    if (h !== location.hash && h !== written) {
      written = h;
      history.replaceState(null, "", h);
    }
  }, 250);
}

function applyLink(): void {
  const link = parseLink(location.hash);
  if (location.hash === written) return;
  if (link.run && link.run !== store.state.runId) void openRun(link.run, link);
  else if (link.run) {
    store.set({ tab: link.tab, view: link.view ? clampView(link.view, store.state.endUs) : store.state.view, selection: link.selection });
  }
}
window.addEventListener("hashchange", applyLink);

store.subscribe((s, ch) => {
  if (ch.has("runId") || ch.has("run") || ch.has("summary") || ch.has("tab") || ch.has("live") || ch.has("follow") || ch.has("error") || ch.has("endUs"))
    renderHeader(s);
  if (ch.has("tracks") || ch.has("selectedTracks")) renderThreads(s);
  if (ch.has("search")) renderSearch(s);
  if (ch.has("selection") || ch.has("selectedTracks") || (ch.has("dataVersion") && s.selection)) void renderSelection(s);
  if (ch.has("tab") || ch.has("selection") || ch.has("selectedTracks") || ch.has("runId") || ch.has("dataVersion")) void renderFunctions(s);
  if (ch.has("runId") || ch.has("tab") || ch.has("selectedTracks") || ch.has("view") || ch.has("selection") || ch.has("search")) writeUrl(s);
  if (ch.has("tab") && s.tab === "timeline") timeline.schedule();
});

// ---- keys ----------------------------------------------------------------------

document.addEventListener("keydown", (e) => {
  const t = e.target as HTMLElement;
  if (t.closest("input,select,textarea")) return;
  if (e.key === "Escape") {
    if (!popup.root.hidden) popup.close();
    else if (store.state.dialog) store.set({ dialog: null });
    else if (store.state.selection) store.set({ selection: null });
    else if (store.state.highlight) store.set({ highlight: null, highlightFrom: null });
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (store.state.tab === "timeline" && store.state.runId && !(t.closest(".runs") && (e.key === "ArrowUp" || e.key === "ArrowDown")) && timeline.key(e))
    e.preventDefault();
});

// ---- polling: the run tree, and a live run about once a second ----------------

async function pollRuns(): Promise<void> {
  try {
    // A central store lists a page of its index: the filter is asked of the server.
    const before = store.state;
    const a = await api.runs(before.runs?.store && before.runFilter ? before.runFilter : undefined);
    const s = store.state;
    const run = s.runId ? (a.body.labels.flatMap((l) => l.runs).find((r) => r.id === s.runId) ?? s.run) : null;
    store.set({ runs: a.body, run });
  } catch (e) {
    store.set({ error: `cannot list runs: ${String(e)}` });
  }
}

let polling = false;
async function pollLive(): Promise<void> {
  const s = store.state;
  if (!s.runId || !s.live || polling) return;
  polling = true;
  try {
    const id = s.runId;
    const ans = await api.changes(id, s.endUs);
    const a = ans.body;
    // docs/API.md puts `live` in the body; the server may say it only in X-Microlog-Live.
    const live = a.live ?? ans.live ?? true;
    const cur = store.state;
    if (cur.runId !== id) return;
    const patch: Partial<State> = {};
    if (a.end_us > cur.endUs) {
      patch.endUs = a.end_us;
      patch.dataVersion = cur.dataVersion + 1;
      if (cur.follow) {
        const w = cur.view.to - cur.view.from;
        const full = cur.view.from <= 0 && cur.view.to >= cur.endUs * 0.999;
        patch.view = full ? { from: 0, to: a.end_us } : { from: a.end_us - w, to: a.end_us };
      }
    }
    if (!live) {
      patch.live = false;
      patch.follow = false;
      patch.dataVersion = cur.dataVersion + 1;
    }
    if (a.threads.length !== cur.summary?.threads.length && cur.summary) {
      const tracks = makeTracks(a.threads, a.end_us);
      patch.summary = { ...cur.summary, threads: a.threads };
      patch.tracks = tracks;
      const known = new Set(cur.tracks.map((t) => t.key));
      const fresh = tracks.filter((t) => !known.has(t.key)).map((t) => t.key);
      if (cur.selectedTracks.length < 4) patch.selectedTracks = [...cur.selectedTracks, ...fresh].slice(0, 4);
    }
    store.set(patch);
  } catch {
    /* the next poll tries again */
  } finally {
    polling = false;
  }
}

declare global {
  interface Window {
    __ml: { store: Store; timeline: TimelineView; popup: SpanPopup; runSearch: (q: string) => Promise<void>; stepHit: (d: number) => void };
  }
}
window.__ml = { store, timeline, popup, runSearch, stepHit };

{
  // The run of the link opens at once, while the tree loads beside it.
  const link = parseLink(location.hash);
  const runs = pollRuns();
  if (link.run) void openRun(link.run, link, runs);
}
window.setInterval(() => void pollRuns(), 3000);
window.setInterval(() => void pollLive(), 1000);
renderHeader(store.state);
renderSearch(store.state);
