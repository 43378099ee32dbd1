// SPDX-License-Identifier: MIT
// Pure functions that turn API answers into draw lists: spans merged from
// tiles and grouped by fill style (a canvas draws one batch per style),
// tick positions, the aggregated flame graph's boxes. No DOM here.

import type { FlamegraphAnswer, FunctionInfo, FunctionTable, SpanTuple } from "./api";

export const ROW = 17; // px per stack depth in a flame chart
export const HUES = 24;

/** FNV-1a of a string, for colours that stay the same for a function. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function hueOf(f: FunctionInfo | undefined): number {
  if (!f) return 0;
  return hash32(`${f.name}\u0000${f.file}`) % HUES;
}

/** How much of a span was spent off CPU: 0 running, 1 mixed, 2 waiting. */
export function waitLevel(running: number, waiting: number): 0 | 1 | 2 {
  const n = running + waiting;
  if (n === 0) return 0;
  const w = waiting / n;
  return w < 0.25 ? 0 : w < 0.75 ? 1 : 2;
}

/** Fill colour of a batch: running spans solid, waiting ones pale. */
export function batchColor(hue: number, level: 0 | 1 | 2): string {
  const h = Math.round((hue * 360) / HUES);
  if (level === 0) return `hsl(${h} 62% 62%)`;
  if (level === 1) return `hsl(${h} 45% 75%)`;
  return `hsl(${h} 30% 88%)`;
}
export const GREY = "hsl(0 0% 86%)";
export const HATCH_BATCH = "hatch";

export interface DrawSpan {
  s: number;
  e: number;
  depth: number;
  fid: number;
  running: number;
  waiting: number;
  gil: number;
  thread: number;
  batch: string;
}

export interface DrawList {
  spans: DrawSpan[]; // sorted by depth then start, for hit-testing
  batches: Map<string, DrawSpan[]>; // fill style -> spans
  hatched: DrawSpan[]; // spans mostly waiting, hatched on top of the fill
  gil: DrawSpan[]; // spans waiting at least a quarter of the time, mostly for the GIL (hatched red)
  maxDepth: number;
  functions: FunctionTable;
}

export interface TileData {
  from: number;
  to: number;
  threads: { id: number; spans: SpanTuple[] }[];
  functions: FunctionTable;
}

/**
 * Merge the spans of several tiles into batches by fill style. A span that
 * crosses tiles comes in each: it is kept from the first tile it is in, so
 * each tile contributes the spans starting inside it. Spans of one depth
 * come sorted by start (as the server sends them); they are sorted again
 * only when tiles overlap (levels mixed while detail arrives) or a track
 * has several threads. `highlight`, when given, greys out every span of a
 * function not in it. Colours are computed once per function.
 */
export function buildDrawList(tiles: TileData[], highlight: Set<number> | null): DrawList {
  const order = [...tiles].sort((a, b) => a.from - b.from);
  const functions: FunctionTable = {};
  for (const t of order) Object.assign(functions, t.functions);
  const byDepth: DrawSpan[][] = [];
  const unsorted = new Set<number>();
  const styleOf = new Map<number, { style: string; hatch: boolean; gil: boolean }>();
  const batches = new Map<string, DrawSpan[]>();
  const hatched: DrawSpan[] = [];
  const gil: DrawSpan[] = [];
  let covered = -Infinity;
  for (let i = 0; i < order.length; i++) {
    const t = order[i]!;
    const overlap = t.from < covered;
    for (const th of t.threads) {
      for (const sp of th.spans) {
        const s = sp[0];
        if (i > 0 && s < t.from && !overlap) continue; // came with an earlier tile
        const depth = sp[2];
        const fid = sp[3];
        const running = sp[4];
        const waiting = sp[5];
        const level = waitLevel(running, waiting);
        // Waiting mostly for the GIL: the thread wanted to run (hatched red when it matters).
        const gilBound = level > 0 && (sp[6] ?? 0) * 2 > waiting;
        const key = fid * 8 + level * 2 + (gilBound ? 1 : 0);
        let st = styleOf.get(key);
        if (!st) {
          const lit = highlight === null || highlight.has(fid);
          st = { style: lit ? batchColor(hueOf(functions[String(fid)]), level) : GREY, hatch: lit && (level === 2 || gilBound), gil: gilBound };
          styleOf.set(key, st);
        }
        const d: DrawSpan = { s, e: sp[1], depth, fid, running, waiting, gil: sp[6] ?? 0, thread: th.id, batch: st.style };
        let row = byDepth[depth];
        if (!row) byDepth[depth] = row = [];
        const last = row[row.length - 1];
        if (last && last.s > s) unsorted.add(depth);
        row.push(d);
        let b = batches.get(st.style);
        if (!b) batches.set(st.style, (b = []));
        b.push(d);
        if (st.hatch) (st.gil ? gil : hatched).push(d);
      }
    }
    if (overlap || t.threads.length > 1) for (let d = 0; d < byDepth.length; d++) unsorted.add(d);
    covered = Math.max(covered, t.to);
  }
  const spans: DrawSpan[] = [];
  for (let d = 0; d < byDepth.length; d++) {
    const row = byDepth[d];
    if (!row) continue;
    if (unsorted.has(d)) row.sort((a, b) => a.s - b.s);
    for (const sp of row) spans.push(sp);
  }
  return { spans, batches, hatched, gil, maxDepth: byDepth.length - 1, functions };
}

/** A draw list's spans as a tile again (to colour them anew without keeping the answer). */
export function listAsTile(list: DrawList, from: number, to: number): TileData {
  const byThread = new Map<number, SpanTuple[]>();
  for (const sp of list.spans) {
    let a = byThread.get(sp.thread);
    if (!a) byThread.set(sp.thread, (a = []));
    a.push([sp.s, sp.e, sp.depth, sp.fid, sp.running, sp.waiting, sp.gil]);
  }
  return { from, to, functions: list.functions, threads: [...byThread].map(([id, spans]) => ({ id, spans })) };
}

/** The span under a point, from the draw list (not the DOM). */
export function hitTest(list: DrawList, t: number, depth: number, slackUs: number): DrawSpan | null {
  // Binary search the first span at this depth, then scan the ones that start before t.
  const a = list.spans;
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = a[mid]!;
    if (m.depth < depth || (m.depth === depth && m.e + slackUs < t)) lo = mid + 1;
    else hi = mid;
  }
  let best: DrawSpan | null = null;
  for (let i = lo; i < a.length; i++) {
    const sp = a[i]!;
    if (sp.depth !== depth || sp.s - slackUs > t) break;
    if (sp.s - slackUs <= t && t <= sp.e + slackUs) {
      if (!best || sp.e - sp.s < best.e - best.s) best = sp;
    }
  }
  return best;
}

/** Tick step (1, 2 or 5 times a power of ten, in µs) so labels are >= minPx apart. */
export function tickStep(rangeUs: number, widthPx: number, minPx = 90): number {
  const raw = (rangeUs * minPx) / Math.max(1, widthPx);
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return Math.max(1, m * p);
  return Math.max(1, 10 * p);
}

export function ticks(from: number, to: number, widthPx: number): { step: number; times: number[] } {
  const step = tickStep(to - from, widthPx);
  const times: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) times.push(t);
  return { step, times };
}

export interface FlameBox {
  x: number; // 0..1 share of the root's width
  w: number;
  depth: number;
  fid: number;
  total: number;
  self: number;
  running: number;
}

/** Lay out an aggregated flame graph: children side by side under parents. */
export function layoutFlamegraph(fg: FlamegraphAnswer): { boxes: FlameBox[]; maxDepth: number } {
  const n = fg.nodes.length;
  const depth = new Array<number>(n).fill(0);
  const x = new Array<number>(n).fill(0);
  const next = new Array<number>(n).fill(0); // where the next child goes
  const total = Math.max(1, fg.samples);
  let rootX = 0;
  const boxes: FlameBox[] = [];
  let maxDepth = 0;
  for (let i = 0; i < n; i++) {
    const [parent, fid, tot, self, running] = fg.nodes[i]!;
    if (parent < 0 || parent >= i) {
      depth[i] = 0;
      x[i] = rootX;
      rootX += tot / total;
    } else {
      depth[i] = depth[parent]! + 1;
      x[i] = x[parent]! + next[parent]!;
      next[parent] = next[parent]! + tot / total;
    }
    maxDepth = Math.max(maxDepth, depth[i]!);
    boxes.push({ x: x[i]!, w: tot / total, depth: depth[i]!, fid, total: tot, self, running });
  }
  return { boxes, maxDepth };
}

/** Clip a label to the characters that fit `px` at `charPx` per character. */
export function fitLabel(label: string, px: number, charPx: number): string | null {
  const room = Math.floor((px - 6) / charPx);
  if (room < 3) return null;
  if (label.length <= room) return label;
  return `${label.slice(0, room - 1)}…`;
}
