// SPDX-License-Identifier: MIT
// The Timeline tab: status lines, log markers, time ticks and one flame
// chart per selected track, all on one time axis. Input: drag pans, wheel
// zooms around the pointer, shift-drag selects a range, click opens a span
// or a log marker, double-click zooms to a span, keys + - 0 and arrows.
// Data comes in tiles (lod.ts); a tile not loaded yet is drawn from any
// coarser or finer one already cached, so the picture stays while detail
// arrives.

import { api, type LogEntry, type StatusAnswer } from "../api";
import { buildDrawList, fitLabel, hitTest, listAsTile, ROW, ticks, type DrawList, type DrawSpan, type TileData } from "../draw";
import { fmtDuration, fmtTime, fmtValue } from "../format";
import { coarserTiles, finerTiles, Lru, tileKey, tilesFor, type TileRef, type Window } from "../lod";
import { clampView, type State, type Store, type Track } from "../store";
import { el } from "./dom";
import { StatusCharts } from "./status";

const LEVEL_COLOURS: [number, string][] = [
  [50, "#7a0010"],
  [40, "#d62728"],
  [30, "#f08c00"],
  [20, "#3b7dd8"],
  [0, "#9a9a9a"],
];
export function levelColour(level: number): string {
  for (const [l, c] of LEVEL_COLOURS) if (level >= l) return c;
  return "#9a9a9a";
}

interface TileEntry<T> {
  data: T;
  endUs: number; // the run's end when fetched: a live run's last tile goes stale
  to: number; // the tile's end
}

/** A timeline tile with its draw list, built when it arrives (not in a frame). */
interface FlameTile {
  data: TileData;
  list: DrawList;
  hl: Set<number> | null; // the highlight the list was built for
}

/** A tile's draw list as drawn in a frame: spans starting before `from` came with an earlier tile. */
interface Layer {
  from: number;
  skipEarlier: boolean;
  list: DrawList;
}

interface TrackView {
  track: Track;
  head: HTMLElement; // the label, placed over the canvas at `top`
  layers: Layer[] | null;
  rows: number; // stack depths shown: grows, never shrinks
  top: number; // px from the top of the track area
}

const HEAD = 17; // px of a track's label row

interface MarkerTile {
  entries: LogEntry[];
  dense: boolean; // more entries than one page: only warnings and above
}

const LOG_PAGE = 500;
const FONT = "11px ui-monospace, 'DejaVu Sans Mono', monospace";

export interface TimelineHooks {
  openSpan(thread: number, span: DrawSpan, clientX: number, clientY: number): void;
  openLog(entry: LogEntry): void;
}

export class TimelineView {
  readonly root: HTMLElement;
  private body: HTMLElement;
  private markers: HTMLCanvasElement;
  private axis: HTMLCanvasElement;
  private tracksBox: HTMLElement;
  // The flame charts share one canvas the size of what is visible: it
  // sticks to the top of the scrolled area and draws the part of the
  // (virtual) track area under it, so memory and drawing do not grow with
  // the number of tracks or their depth.
  private flame: HTMLCanvasElement;
  private fctx: CanvasRenderingContext2D;
  private spacer: HTMLElement;
  private totalHeight = 0;
  private flameHeight = 0;
  private scroller: HTMLElement | null = null;
  private hair: HTMLElement;
  private selBox: HTMLElement;
  private note: HTMLElement;
  private tip: HTMLElement;
  private status: StatusCharts;
  private tracks: TrackView[] = [];
  private tiles = new Lru<TileEntry<FlameTile>>(160);
  private statusTiles = new Lru<TileEntry<StatusAnswer>>(200);
  private markerTiles = new Lru<TileEntry<MarkerTile>>(200);
  private inflight = new Set<string>();
  private failed = new Map<string, number>(); // key -> when it failed: asked again 2 s later
  private width = 800;
  private charPx = 6.6;
  private labelWidths = new Map<string, number>();
  private drawQueued = false;
  private drag: { x: number; view: Window; mode: "pan" | "select"; moved: boolean; t0: number } | null = null;
  private drawnMarkers: { x: number; e: LogEntry }[] = [];
  private picked: { thread: number; s: number; depth: number } | null = null;
  complete = false;
  frameTimes: number[] = [];

  constructor(
    private store: Store,
    private hooks: TimelineHooks,
  ) {
    this.root = el("div", "timeline");
    this.body = el("div", "tl-body");
    this.status = new StatusCharts();
    this.markers = el("canvas", "tl-markers");
    this.axis = el("canvas", "tl-axis");
    this.tracksBox = el("div", "tl-tracks");
    this.flame = el("canvas", "tl-flame");
    this.fctx = this.flame.getContext("2d")!;
    this.spacer = el("div", "tl-spacer");
    this.hair = el("div", "tl-hair");
    this.selBox = el("div", "tl-sel");
    this.note = el("div", "tl-note");
    this.tip = el("div", "tl-tip");
    this.tip.hidden = true;
    this.body.append(this.status.root, this.markers, this.axis, this.tracksBox, this.hair, this.selBox);
    const legend = el("div", "tl-legend");
    for (const [cls, text] of [
      ["run", "running"],
      ["mixed", "partly waiting"],
      ["wait", "waiting (off CPU)"],
      ["gil", "waiting for the GIL"],
    ] as const) {
      const item = el("span", "item");
      item.append(el("span", `swatch ${cls}`), text);
      legend.append(item);
    }
    const top = el("div", "tl-top");
    top.append(this.note, legend);
    this.root.append(top, this.body, this.tip);
    this.measureFont();
    this.bindInput();
    new ResizeObserver(() => this.resize()).observe(this.body);
    store.subscribe((s, ch) => this.onState(s, ch));
  }

  private measureFont(): void {
    const c = document.createElement("canvas").getContext("2d");
    if (!c) return;
    c.font = FONT;
    this.charPx = c.measureText("MMMMMMMMMM").width / 10 || 6.6;
  }

  /** Width of a label, measured once per label (monospace: a multiple of one glyph). */
  labelWidth(s: string): number {
    let w = this.labelWidths.get(s);
    if (w === undefined) {
      w = s.length * this.charPx;
      this.labelWidths.set(s, w);
    }
    return w;
  }

  private onState(s: State, ch: Set<keyof State>): void {
    if (ch.has("runId")) this.reset();
    if (ch.has("tracks") || ch.has("selectedTracks")) this.buildTracks(s);
    // A run just opened: ask for its tiles now rather than at the next frame.
    if (ch.has("summary") && s.summary) this.draw();
    if (ch.has("dataVersion")) this.dropStale(s.endUs);
    if (
      ch.has("view") ||
      ch.has("tracks") ||
      ch.has("selectedTracks") ||
      ch.has("highlight") ||
      ch.has("selection") ||
      ch.has("hover") ||
      ch.has("endUs") ||
      ch.has("dataVersion") ||
      ch.has("search") ||
      ch.has("dialog") ||
      ch.has("tab")
    )
      this.schedule();
  }

  private reset(): void {
    this.tiles.clear();
    this.statusTiles.clear();
    this.markerTiles.clear();
    this.inflight.clear();
    this.failed.clear();
    this.picked = null;
    this.complete = false;
    this.status.clear();
  }

  /** A live run grew: tiles fetched before it reached their end are asked again. */
  private dropStale(end: number): void {
    for (const cache of [this.tiles, this.statusTiles, this.markerTiles] as Lru<TileEntry<unknown>>[]) {
      for (const k of cache.keys()) {
        const e = cache.peek(k);
        if (e && e.endUs < end && e.to > e.endUs) cache.delete(k);
      }
    }
  }

  private buildTracks(s: State): void {
    const old = new Map(this.tracks.map((t) => [t.track.key, t]));
    this.tracksBox.replaceChildren(this.flame, this.spacer);
    this.tracks = [];
    for (const track of s.tracks) {
      if (!s.selectedTracks.includes(track.key)) continue;
      const head = el("div", "tl-track tl-track-head", track.label);
      head.dataset.track = track.key;
      this.tracksBox.append(head);
      const prev = old.get(track.key);
      this.tracks.push(prev && prev.track === track ? { ...prev, head } : { track, head, layers: null, rows: 1, top: 0 });
    }
    this.layout(true);
    this.resize();
  }

  /** Place the tracks one under the other; size the canvas to what can be seen. */
  private layout(force: boolean): void {
    let changed = force;
    for (const t of this.tracks) {
      const rows = Math.max(1, ...(t.layers ?? []).map((l) => l.list.maxDepth + 1));
      if (rows > t.rows) {
        t.rows = rows;
        changed = true;
      }
    }
    if (!changed) return;
    let top = 0;
    for (const t of this.tracks) {
      t.top = top;
      t.head.style.top = `${top}px`;
      top += HEAD + t.rows * ROW + 1;
    }
    this.totalHeight = top;
    this.sizeFlame();
  }

  private sizeFlame(): void {
    this.scroller ??= this.root.closest<HTMLElement>(".content");
    if (this.scroller && !this.scroller.dataset.tl) {
      this.scroller.dataset.tl = "1";
      this.scroller.addEventListener("scroll", () => this.schedule(), { passive: true });
    }
    const visible = this.scroller?.clientHeight || window.innerHeight;
    const h = Math.max(1, Math.min(this.totalHeight, visible));
    const dpr = window.devicePixelRatio || 1;
    if (h !== this.flameHeight || this.flame.width !== this.width * dpr) {
      this.flameHeight = h;
      this.flame.width = this.width * dpr;
      this.flame.height = h * dpr;
      this.flame.style.width = `${this.width}px`;
      this.flame.style.height = `${h}px`;
    }
    this.spacer.style.height = `${Math.max(0, this.totalHeight - h)}px`;
  }

  private resize(): void {
    const w = Math.max(200, Math.floor(this.body.clientWidth));
    if (w === this.width && this.markers.width === w) {
      this.schedule();
      return;
    }
    this.width = w;
    const dpr = window.devicePixelRatio || 1;
    for (const [c, h] of [
      [this.markers, 18],
      [this.axis, 22],
    ] as [HTMLCanvasElement, number][]) {
      c.width = w * dpr;
      c.height = h * dpr;
      c.style.width = `${w}px`;
      c.style.height = `${h}px`;
    }
    this.sizeFlame();
    this.status.resize(w);
    this.schedule();
  }

  schedule(): void {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      const t0 = performance.now();
      this.draw();
      this.frameTimes.push(performance.now() - t0);
      if (this.frameTimes.length > 2000) this.frameTimes.splice(0, 1000);
    });
  }

  // ---- data ------------------------------------------------------------

  /** Cached value of a tile, or null after asking for it once. */
  private want<T>(cache: Lru<TileEntry<T>>, key: string, to: number, load: () => Promise<T>): TileEntry<T> | null {
    const hit = cache.get(key);
    if (hit) return hit;
    if (this.inflight.has(key)) return null;
    const failedAt = this.failed.get(key);
    if (failedAt !== undefined && performance.now() - failedAt < 2000) {
      this.retryLater();
      return null;
    }
    const runId = this.store.state.runId;
    this.inflight.add(key);
    const end = this.store.state.endUs;
    load()
      .then((data) => {
        if (this.store.state.runId !== runId) return;
        cache.set(key, { data, endUs: end, to });
      })
      .catch((e: unknown) => {
        if (this.store.state.runId !== runId) return;
        this.failed.set(key, performance.now());
        this.note.textContent = `could not load: ${String(e)}`;
      })
      .finally(() => {
        this.inflight.delete(key);
        this.schedule();
      });
    return null;
  }

  private retryTimer = 0;
  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = 0;
      this.schedule();
    }, 2100);
  }

  private trackTile(tv: TrackView, t: TileRef): TileEntry<FlameTile> | null {
    const id = this.store.state.runId;
    if (!id) return null;
    const threads = tv.track.threads;
    return this.want(this.tiles, tileKey(tv.track.key, t), t.to, async () => {
      // A group of many threads is asked in slices, to keep URLs short.
      const slices: number[][] = [];
      for (let i = 0; i < threads.length; i += 200) slices.push(threads.slice(i, i + 200));
      const answers = await Promise.all(slices.map((s) => api.timeline(id, s, t.from, t.to, Math.round((t.to - t.from) / t.bucket))));
      const data: TileData = {
        from: t.from,
        to: t.to,
        threads: answers.flatMap((a) => a.body.threads),
        functions: Object.assign({}, ...answers.map((a) => a.body.functions)),
      };
      const hl = this.store.state.highlight;
      // Only the draw list is kept (the answer's arrays go): half the memory per tile.
      return { data: { ...data, threads: [] }, list: buildDrawList([data], hl), hl };
    });
  }

  /** The best tiles to draw now for a track, and whether they are the right level. */
  private tilesForTrack(tv: TrackView, need: TileRef[]): { tiles: FlameTile[]; exact: boolean } {
    const tiles: FlameTile[] = [];
    const seen = new Set<string>();
    const add = (k: string, e: TileEntry<FlameTile>) => {
      if (seen.has(k)) return;
      seen.add(k);
      tiles.push(e.data);
    };
    let exact = true;
    for (const t of need) {
      const hit = this.trackTile(tv, t);
      if (hit) {
        add(tileKey(tv.track.key, t), hit);
        continue;
      }
      exact = false;
      let found = false;
      for (const c of coarserTiles(t, 8)) {
        const ck = tileKey(tv.track.key, c);
        const e = this.tiles.peek(ck);
        if (e) {
          add(ck, e);
          found = true;
          break;
        }
      }
      if (!found) {
        for (const f of finerTiles(t)) {
          const fk = tileKey(tv.track.key, f);
          const e = this.tiles.peek(fk);
          if (e) add(fk, e);
        }
      }
    }
    return { tiles, exact };
  }

  /** Layers to draw from tiles: in time order, each skipping what an earlier one drew. */
  private layersOf(tiles: FlameTile[], hl: Set<number> | null): Layer[] {
    const sorted = [...tiles].sort((a, b) => a.data.from - b.data.from);
    let covered = -Infinity;
    return sorted.map((t, i) => {
      if (t.hl !== hl) {
        t.list = buildDrawList([listAsTile(t.list, t.data.from, t.data.to)], hl); // the highlight changed: once per tile
        t.hl = hl;
      }
      const layer = { from: t.data.from, skipEarlier: i > 0 && t.data.from >= covered, list: t.list };
      covered = Math.max(covered, t.data.to);
      return layer;
    });
  }

  // ---- drawing -----------------------------------------------------------

  private xOf(t: number): number {
    const v = this.store.state.view;
    return ((t - v.from) * this.width) / (v.to - v.from);
  }

  private tOf(x: number): number {
    const v = this.store.state.view;
    return v.from + (x * (v.to - v.from)) / this.width;
  }

  private draw(): void {
    const s = this.store.state;
    if (!s.runId || !s.summary || s.tab !== "timeline") return;
    const W = this.width;
    const need = tilesFor(s.view, W, s.endUs);
    let complete = true;
    const { times, step } = ticks(s.view.from, s.view.to, W);

    // Status lines.
    const sdata: StatusAnswer[] = [];
    for (const t of need) {
      const id = s.runId;
      const e = this.want(
        this.statusTiles,
        `s|${t.bucket}|${t.index}`,
        t.to,
        async () => (await api.status(id, t.from, t.to, Math.round((t.to - t.from) / t.bucket))).body,
      );
      if (e) sdata.push(e.data);
      else complete = false;
    }
    if (sdata.length) this.status.update(sdata, `${need[0]?.bucket ?? 0}|${sdata.length}|${s.dataVersion}|${need.map((t) => t.index).join(",")}`);
    this.status.setView(s.view, s.hover, s.search.answer ? new Set(s.search.answer.series.map((x) => x.name)) : null);

    this.drawMarkers(need, s);
    this.drawAxis(times, step);

    for (const tv of this.tracks) {
      const got = this.tilesForTrack(tv, need);
      if (!got.exact) complete = false;
      if (got.tiles.length) tv.layers = this.layersOf(got.tiles, s.highlight);
    }
    this.layout(false);
    this.drawFlame(times);
    this.drawOverlay(s);
    const wasComplete = this.complete;
    this.complete = complete && this.inflight.size === 0;
    document.body.dataset.complete = this.complete ? "1" : "0";
    if (this.complete && !wasComplete) document.dispatchEvent(new CustomEvent("ml-complete"));
  }

  /** A strip canvas's context, scaled for the pixel ratio and painted `bg`. */
  private strip(canvas: HTMLCanvasElement, h: number, bg: string): CanvasRenderingContext2D | null {
    const c = canvas.getContext("2d");
    if (!c) return null;
    const dpr = window.devicePixelRatio || 1;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.fillStyle = bg;
    c.fillRect(0, 0, this.width, h);
    return c;
  }

  private drawAxis(times: number[], step: number): void {
    const c = this.strip(this.axis, 22, "#f4f4f2");
    if (!c) return;
    c.strokeStyle = "#888";
    c.fillStyle = "#333";
    c.font = FONT;
    c.textBaseline = "middle";
    c.beginPath();
    for (const t of times) {
      const x = Math.round(this.xOf(t)) + 0.5;
      c.moveTo(x, 14);
      c.lineTo(x, 22);
    }
    c.stroke();
    for (const t of times) c.fillText(fmtTime(t, step), this.xOf(t) + 3, 8);
    const end = this.xOf(this.store.state.endUs);
    if (end < this.width) {
      c.fillStyle = "rgba(0,0,0,0.08)";
      c.fillRect(Math.max(0, end), 0, this.width - Math.max(0, end), 22);
    }
  }

  private drawMarkers(need: TileRef[], s: State): void {
    const id = s.runId;
    const c = this.strip(this.markers, 18, "#fafaf8");
    if (!c || !id) return;
    const seen = new Set<number>();
    const byColour = new Map<string, number[]>();
    const drawn: { x: number; e: LogEntry }[] = [];
    let dense = false;
    const hits = s.search.answer ? new Set(s.search.answer.logs.map((l) => l.index)) : null;
    for (const t of need) {
      const e = this.want(this.markerTiles, `m|${t.bucket}|${t.index}`, t.to, async () => {
        const a = await api.logs(id, { from: t.from, to: t.to, limit: LOG_PAGE });
        if (a.body.total <= LOG_PAGE) return { entries: a.body.entries, dense: false };
        const b = await api.logs(id, { from: t.from, to: t.to, limit: LOG_PAGE, level: 30 });
        return { entries: b.body.entries, dense: true };
      });
      if (!e) continue;
      dense ||= e.data.dense;
      for (const entry of e.data.entries) {
        if (seen.has(entry.index)) continue;
        seen.add(entry.index);
        const x = this.xOf(entry.time_us);
        if (x < -3 || x > this.width + 3) continue;
        const colour = hits && !hits.has(entry.index) ? "#d8d8d8" : levelColour(entry.level);
        let a = byColour.get(colour);
        if (!a) byColour.set(colour, (a = []));
        a.push(x);
        drawn.push({ x, e: entry });
      }
    }
    for (const [colour, xs] of byColour) {
      c.fillStyle = colour;
      c.beginPath();
      for (const x of xs) c.rect(Math.round(x) - 1, 3, 3, 13);
      c.fill();
    }
    if (s.dialog) {
      const x = this.xOf(s.dialog.time_us);
      c.strokeStyle = "#000";
      c.lineWidth = 1;
      c.strokeRect(Math.round(x) - 2.5, 1.5, 6, 15);
    }
    this.drawnMarkers = drawn;
    this.markers.title = dense ? "many log entries here: warnings and above shown, zoom in for all" : "";
    this.markers.classList.toggle("dense", dense);
  }

  /** Where the canvas's first pixel row is in the track area. */
  private flameOffset(): number {
    return this.flame.getBoundingClientRect().top - this.tracksBox.getBoundingClientRect().top;
  }

  private drawFlame(times: number[]): void {
    const c = this.fctx;
    const dpr = window.devicePixelRatio || 1;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, this.width, this.flameHeight);
    const off = this.flameOffset();
    for (const tv of this.tracks) {
      const y0 = tv.top + HEAD - off;
      const h = tv.rows * ROW;
      if (y0 + h < 0 || y0 > this.flameHeight) continue;
      // Only the depths the canvas shows.
      const dmin = Math.max(0, Math.floor(-y0 / ROW));
      const dmax = Math.min(tv.rows - 1, Math.floor((this.flameHeight - y0) / ROW));
      c.save();
      c.translate(0, y0);
      c.beginPath();
      c.rect(0, 0, this.width, h);
      c.clip();
      this.drawTrack(c, tv, times, dmin, dmax);
      c.restore();
    }
  }

  private drawTrack(c: CanvasRenderingContext2D, tv: TrackView, times: number[], dmin: number, dmax: number): void {
    const W = this.width;
    const H = tv.rows * ROW;
    const s = this.store.state;
    const endX = this.xOf(s.endUs);
    // Not loaded yet: a checkerboard, as Perfetto does.
    if (!tv.layers) {
      c.fillStyle = "#eee";
      for (let x = 0; x < W; x += 16) c.fillRect(x, 0, 8, ROW);
      return;
    }
    c.strokeStyle = "#ececec";
    c.beginPath();
    for (const t of times) {
      const x = Math.round(this.xOf(t)) + 0.5;
      c.moveTo(x, 0);
      c.lineTo(x, H);
    }
    c.stroke();
    const k = W / (s.view.to - s.view.from);
    const from = s.view.from;
    const labels: { x: number; w: number; y: number; text: string }[] = [];
    for (const layer of tv.layers) {
      const lfrom = layer.skipEarlier ? layer.from : -Infinity;
      for (const [style, spans] of layer.list.batches) {
        c.fillStyle = style;
        c.beginPath();
        for (const sp of spans) {
          if (sp.depth < dmin || sp.depth > dmax || sp.s < lfrom) continue;
          let x0 = (sp.s - from) * k;
          let x1 = (sp.e - from) * k;
          if (x1 < 0 || x0 > W) continue;
          if (x0 < -1) x0 = -1;
          if (x1 > W + 1) x1 = W + 1;
          const w = x1 - x0;
          if (w < 0.3) continue;
          c.rect(x0, sp.depth * ROW, w > 2 ? w - 0.5 : w, ROW - 1);
          if (w > 24) labels.push({ x: x0, w, y: sp.depth * ROW, text: this.fname(layer.list, sp.fid) });
        }
        c.fill();
      }
    }
    // Mostly waiting: hatched over the pale fill; grey off CPU, red waiting for the GIL.
    for (const layer of tv.layers) {
      const lfrom = layer.skipEarlier ? layer.from : -Infinity;
      this.hatch(c, layer.list.hatched, "rgba(90,90,90,0.35)", dmin, dmax, lfrom);
      this.hatch(c, layer.list.gil, "rgba(200,30,30,0.55)", dmin, dmax, lfrom);
    }
    c.font = FONT;
    c.textBaseline = "middle";
    c.fillStyle = "#1d1d1d";
    for (const l of labels) {
      const text = this.labelWidth(l.text) <= l.w - 6 ? l.text : fitLabel(l.text, l.w, this.charPx);
      if (text) c.fillText(text, Math.max(l.x, 0) + 3, l.y + ROW / 2);
    }
    if (this.picked && tv.track.threads.includes(this.picked.thread)) {
      const p = this.picked;
      const sp = this.spansOf(tv).find((x) => x.s === p.s && x.depth === p.depth);
      if (sp) {
        c.strokeStyle = "#000";
        c.lineWidth = 2;
        c.strokeRect((sp.s - from) * k, sp.depth * ROW + 1, Math.max(2, (sp.e - sp.s) * k), ROW - 2);
      }
    }
    if (endX < W) {
      c.fillStyle = "rgba(0,0,0,0.04)";
      c.fillRect(Math.max(0, endX), 0, W - Math.max(0, endX), H);
    }
  }

  private hatch(c: CanvasRenderingContext2D, spans: DrawSpan[], colour: string, dmin: number, dmax: number, lfrom: number): void {
    const s = this.store.state;
    const W = this.width;
    const k = W / (s.view.to - s.view.from);
    const from = s.view.from;
    c.strokeStyle = colour;
    c.lineWidth = 1;
    c.beginPath();
    for (const sp of spans) {
      if (sp.depth < dmin || sp.depth > dmax || sp.s < lfrom) continue;
      const x0 = Math.max(-1, (sp.s - from) * k);
      const x1 = Math.min(W + 1, (sp.e - from) * k);
      if (x1 < 0 || x0 > W || x1 - x0 < 3) continue;
      const y0 = sp.depth * ROW;
      for (let x = Math.ceil((x0 - ROW) / 6) * 6; x < x1; x += 6) {
        const a = Math.max(x, x0);
        const b = Math.min(x + ROW - 1, x1);
        if (b <= a) continue;
        c.moveTo(a, y0 + ROW - 1 - (a - x));
        c.lineTo(b, y0 + ROW - 1 - (b - x));
      }
    }
    c.stroke();
  }

  private fname(list: DrawList, fid: number): string {
    const f = list.functions[String(fid)];
    return f ? f.name : `#${fid}`;
  }

  private drawOverlay(s: State): void {
    if (s.hover !== null) {
      const x = this.xOf(s.hover);
      this.hair.style.display = x >= 0 && x <= this.width ? "block" : "none";
      this.hair.style.transform = `translateX(${Math.round(x)}px)`;
    } else this.hair.style.display = "none";
    if (s.selection) {
      const a = Math.max(0, this.xOf(s.selection.from));
      const b = Math.min(this.width, this.xOf(s.selection.to));
      this.selBox.style.display = b > a ? "block" : "none";
      this.selBox.style.left = `${a}px`;
      this.selBox.style.width = `${Math.max(1, b - a)}px`;
    } else this.selBox.style.display = "none";
    const v = s.view;
    this.note.textContent = `${fmtTime(v.from, (v.to - v.from) / 10)} – ${fmtTime(v.to, (v.to - v.from) / 10)}  (${fmtDuration(v.to - v.from)} shown)${
      s.selection ? `   selection ${fmtDuration(s.selection.to - s.selection.from)}` : ""
    }`;
  }

  // ---- input -------------------------------------------------------------

  setView(v: Window, keepFollow = false): void {
    const s = this.store.state;
    const view = clampView(v, s.endUs);
    const follow = keepFollow ? s.follow : s.live && view.to >= s.endUs * 0.999;
    this.store.set({ view, follow });
  }

  zoomAt(t: number, factor: number): void {
    const v = this.store.state.view;
    this.setView({ from: t - (t - v.from) * factor, to: t + (v.to - t) * factor });
  }

  private localX(e: MouseEvent): number {
    return e.clientX - this.body.getBoundingClientRect().left;
  }

  private bindInput(): void {
    const b = this.body;
    b.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      b.setPointerCapture(e.pointerId);
      const x = this.localX(e);
      this.drag = { x, view: this.store.state.view, mode: e.shiftKey ? "select" : "pan", moved: false, t0: this.tOf(x) };
      e.preventDefault();
    });
    b.addEventListener("pointermove", (e) => {
      const x = this.localX(e);
      const d = this.drag;
      if (d) {
        if (Math.abs(x - d.x) > 3) d.moved = true;
        if (d.mode === "pan" && d.moved) {
          const dt = ((x - d.x) * (d.view.to - d.view.from)) / this.width;
          this.setView({ from: d.view.from - dt, to: d.view.to - dt });
        } else if (d.mode === "select" && d.moved) {
          const t = this.tOf(x);
          this.store.set({ selection: { from: Math.max(0, Math.min(d.t0, t)), to: Math.min(this.store.state.endUs, Math.max(d.t0, t)) } });
        }
      }
      this.store.set({ hover: this.tOf(x) });
      this.hoverTip(e, d !== null);
    });
    b.addEventListener("pointerup", (e) => {
      const d = this.drag;
      this.drag = null;
      if (d && !d.moved) this.click(e, false);
      if (d && d.mode === "select" && !d.moved) this.store.set({ selection: null });
    });
    b.addEventListener("pointerleave", () => {
      this.tip.hidden = true;
      if (!this.drag) this.store.set({ hover: null });
    });
    b.addEventListener("dblclick", (e) => this.click(e, true));
    b.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
          const v = this.store.state.view;
          const dt = ((e.deltaX || e.deltaY) * (v.to - v.from)) / this.width;
          this.setView({ from: v.from + dt, to: v.to + dt });
          return;
        }
        const scale = e.deltaMode === 1 ? 33 : e.deltaMode === 2 ? 400 : 1;
        this.zoomAt(this.tOf(this.localX(e)), 2 ** ((e.deltaY * scale) / 240));
      },
      { passive: false },
    );
  }

  /** Keys + - 0 and arrows, when the timeline is shown and no field has the focus. */
  key(e: KeyboardEvent): boolean {
    const v = this.store.state.view;
    const mid = (v.from + v.to) / 2;
    const w = v.to - v.from;
    switch (e.key) {
      case "+":
      case "=":
        this.zoomAt(mid, 0.5);
        return true;
      case "-":
      case "_":
        this.zoomAt(mid, 2);
        return true;
      case "0":
        this.setView({ from: 0, to: this.store.state.endUs });
        return true;
      case "ArrowLeft":
        this.setView({ from: v.from - w * 0.2, to: v.to - w * 0.2 });
        return true;
      case "ArrowRight":
        this.setView({ from: v.from + w * 0.2, to: v.to + w * 0.2 });
        return true;
      case "ArrowUp":
        this.zoomAt(mid, 0.8);
        return true;
      case "ArrowDown":
        this.zoomAt(mid, 1.25);
        return true;
    }
    return false;
  }

  /** The span under the pointer, or null (from the draw list of its canvas). */
  private spanAt(e: MouseEvent): { tv: TrackView; sp: DrawSpan; list: DrawList } | null {
    if (document.elementFromPoint(e.clientX, e.clientY) !== this.flame) return null;
    const y = e.clientY - this.tracksBox.getBoundingClientRect().top;
    const tv = this.tracks.find((t) => y >= t.top + HEAD && y < t.top + HEAD + t.rows * ROW);
    if (!tv || !tv.layers) return null;
    const depth = Math.floor((y - tv.top - HEAD) / ROW);
    const v = this.store.state.view;
    let best: { sp: DrawSpan; list: DrawList } | null = null;
    for (const layer of tv.layers) {
      const sp = hitTest(layer.list, this.tOf(this.localX(e)), depth, (2 * (v.to - v.from)) / this.width);
      if (sp && (!best || sp.e - sp.s < best.sp.e - best.sp.s)) best = { sp, list: layer.list };
    }
    return best ? { tv, sp: best.sp, list: best.list } : null;
  }

  private markerAt(x: number): LogEntry | null {
    let best: { x: number; e: LogEntry } | null = null;
    for (const m of this.drawnMarkers) if (Math.abs(m.x - x) <= 4 && (!best || Math.abs(m.x - x) < Math.abs(best.x - x))) best = m;
    return best?.e ?? null;
  }

  private hoverTip(e: MouseEvent, dragging: boolean): void {
    let text: string | null = null;
    if (!dragging && document.elementFromPoint(e.clientX, e.clientY) === this.markers) {
      const m = this.markerAt(this.localX(e));
      if (m) text = `${m.level_name} ${fmtTime(m.time_us, 1000)}: ${m.text.slice(0, 100)}`;
    } else if (!dragging) {
      const hit = this.spanAt(e);
      if (hit) {
        const { sp, list } = hit;
        const n = sp.running + sp.waiting;
        text = `${this.fname(list, sp.fid)}  ${fmtDuration(sp.e - sp.s)}${n ? ` · CPU ${Math.round((100 * sp.running) / n)}%` : ""}`;
      }
    }
    if (text === null) {
      this.tip.hidden = true;
      return;
    }
    if (this.tip.textContent !== text) this.tip.textContent = text;
    this.tip.hidden = false;
    this.tip.style.left = `${Math.min(e.clientX + 14, window.innerWidth - 320)}px`;
    this.tip.style.top = `${e.clientY + 16}px`;
  }

  private click(e: MouseEvent, dbl: boolean): void {
    // Pointer capture makes the body the target: ask what is under the pointer.
    const target = document.elementFromPoint(e.clientX, e.clientY);
    const x = this.localX(e);
    if (target === this.markers) {
      const m = this.markerAt(x);
      if (m) this.hooks.openLog(m);
      return;
    }
    const sp = this.spanAt(e)?.sp;
    if (!sp) {
      this.picked = null;
      this.schedule();
      return;
    }
    if (dbl) {
      const pad = (sp.e - sp.s) * 0.05;
      this.setView({ from: sp.s - pad, to: sp.e + pad });
      return;
    }
    this.picked = { thread: sp.thread, s: sp.s, depth: sp.depth };
    this.schedule();
    this.hooks.openSpan(sp.thread, sp, e.clientX, e.clientY);
  }

  /** Mark a span as the picked one (from the popup's similar calls or a search hit). */
  pick(thread: number, s: number, depth: number): void {
    this.picked = { thread, s, depth };
    this.schedule();
  }

  unpick(): void {
    this.picked = null;
    this.schedule();
  }

  /** Log markers drawn, with x relative to the timeline body (tests use them). */
  markerPositions(): { x: number; index: number }[] {
    return this.drawnMarkers.map((m) => ({ x: m.x, index: m.e.index }));
  }

  /** Where a track's first stack row is, in page coordinates (tests use it). */
  trackBox(key: string): { x: number; y: number; width: number } | null {
    const tv = this.tracks.find((t) => t.track.key === key);
    if (!tv) return null;
    const r = this.tracksBox.getBoundingClientRect();
    return { x: r.left, y: r.top + tv.top + HEAD, width: this.width };
  }

  /** Spans currently drawn for a thread (tests and search use them). */
  drawnSpans(): { track: string; spans: DrawSpan[] }[] {
    return this.tracks.map((t) => ({ track: t.track.key, spans: this.spansOf(t) }));
  }

  /** The spans of a track as drawn: each once, by depth then start. */
  private spansOf(tv: TrackView): DrawSpan[] {
    const out: DrawSpan[] = [];
    for (const layer of tv.layers ?? []) {
      const lfrom = layer.skipEarlier ? layer.from : -Infinity;
      for (const sp of layer.list.spans) if (sp.s >= lfrom) out.push(sp);
    }
    return out.sort((a, b) => a.depth - b.depth || a.s - b.s);
  }

  statusAt(t: number): string[] {
    return this.status.valuesAt(t).map((v) => `${v.name} ${fmtValue(v.mean, v.unit)}`);
  }
}
