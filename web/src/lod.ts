// SPDX-License-Identifier: MIT
// Level of detail on the UI side: which timeline answers a view needs.
// The time axis is cut into tiles of TILE_PX pixels at a power-of-two
// bucket (µs per pixel), as the server snaps its windows: panning reuses
// tiles, zooming by 2 changes the level, and any cached level can stand in
// while the right one arrives (keep the current picture).

export const TILE_PX = 1024;

export interface Window {
  from: number;
  to: number;
}

/** Largest power of two <= (to - from) / width, at least 1 µs: detail of a pixel or finer. */
export function bucketFor(from: number, to: number, width: number): number {
  const per = Math.max(1, (to - from) / Math.max(1, width));
  return 2 ** Math.floor(Math.log2(per) + 1e-9);
}

export interface TileRef {
  bucket: number;
  index: number;
  from: number;
  to: number;
}

export function tileSpan(bucket: number): number {
  return bucket * TILE_PX;
}

/** The tiles covering [from, to] at the bucket for that width, clipped to [0, end]. */
export function tilesFor(view: Window, width: number, end: number): TileRef[] {
  const bucket = bucketFor(view.from, view.to, width);
  const span = tileSpan(bucket);
  const lo = Math.max(0, view.from);
  const hi = Math.min(Math.max(end, 1), view.to);
  const out: TileRef[] = [];
  if (hi < lo) return out;
  const k0 = Math.floor(lo / span);
  const k1 = Math.floor(Math.max(lo, hi - 1e-6) / span);
  for (let k = k0; k <= k1; k++) out.push({ bucket, index: k, from: k * span, to: (k + 1) * span });
  return out;
}

/** Tiles at coarser levels (bucket * 2^j) that contain the tile, nearest first. */
export function coarserTiles(t: TileRef, levels: number): TileRef[] {
  const out: TileRef[] = [];
  for (let j = 1; j <= levels; j++) {
    const bucket = t.bucket * 2 ** j;
    const span = tileSpan(bucket);
    const index = Math.floor(t.from / span);
    out.push({ bucket, index, from: index * span, to: (index + 1) * span });
  }
  return out;
}

/** Tiles one level finer that cover the tile (zooming out: reuse what is cached). */
export function finerTiles(t: TileRef): TileRef[] {
  const bucket = t.bucket / 2;
  if (bucket < 1) return [];
  const span = tileSpan(bucket);
  const first = Math.round(t.from / span);
  return [0, 1].map((i) => ({ bucket, index: first + i, from: (first + i) * span, to: (first + i + 1) * span }));
}

export function tileKey(threads: string, t: { bucket: number; index: number }): string {
  return `${threads}|${t.bucket}|${t.index}`;
}

/** A least-recently-used map with a size bound. */
export class Lru<V> {
  private map = new Map<string, V>();
  constructor(private readonly limit: number) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  peek(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    while (this.map.size > this.limit) {
      const first = this.map.keys().next().value;
      if (first === undefined) break;
      this.map.delete(first);
    }
  }
  delete(k: string): void {
    this.map.delete(k);
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
  clear(): void {
    this.map.clear();
  }
}
