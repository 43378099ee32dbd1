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
  thread: number;
  batch: string;
}

export interface DrawList {
  spans: DrawSpan[]; // sorted by depth then start, for hit-testing
  batches: Map<string, DrawSpan[]>; // fill style -> spans
  hatched: DrawSpan[]; // spans mostly waiting, hatched on top of the fill
  maxDepth: number;
  functions: FunctionTable;
}

export interface TileData {
  threads: { id: number; spans: SpanTuple[] }[];
  functions: FunctionTable;
}

/**
 * Merge the spans of several tiles (a span crossing tiles comes in each,
 * once kept) into batches by fill style. `highlight`, when given, greys
 * out every span of a function not in it.
 */
export function buildDrawList(tiles: TileData[], highlight: Set<number> | null): DrawList {
  const seen = new Set<string>();
  const spans: DrawSpan[] = [];
  const functions: FunctionTable = {};
  let maxDepth = -1;
  for (const t of tiles) {
    Object.assign(functions, t.functions);
    for (const th of t.threads) {
      for (const sp of th.spans) {
        const [s, e, depth, fid, running, waiting] = sp;
        const key = `${th.id}:${s}:${depth}:${fid}`;
        if (seen.has(key)) continue;
        seen.add(key);
        spans.push({ s, e, depth, fid, running, waiting, thread: th.id, batch: "" });
        if (depth > maxDepth) maxDepth = depth;
      }
    }
  }
  spans.sort((a, b) => a.depth - b.depth || a.s - b.s);
  const batches = new Map<string, DrawSpan[]>();
  const hatched: DrawSpan[] = [];
  for (const sp of spans) {
    const level = waitLevel(sp.running, sp.waiting);
    const lit = highlight === null || highlight.has(sp.fid);
    sp.batch = lit ? batchColor(hueOf(functions[String(sp.fid)]), level) : GREY;
    let b = batches.get(sp.batch);
    if (!b) batches.set(sp.batch, (b = []));
    b.push(sp);
    if (level === 2 && lit) hatched.push(sp);
  }
  return { spans, batches, hatched, maxDepth, functions };
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
