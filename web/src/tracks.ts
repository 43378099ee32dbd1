// SPDX-License-Identifier: MIT
// Which flame chart rows a run gets: one per thread, except threads that
// lived only briefly and share a name pattern (a server's request threads),
// which share one row so thousands of them stay readable.

import type { SummaryThread } from "./api";
import type { Track } from "./store";

/** A thread name with its numbers folded: "Thread-12 (handle)" -> "Thread-# (handle)". */
export function namePattern(name: string): string {
  return name.replace(/\d+/g, "#");
}

export function makeTracks(threads: SummaryThread[], durationUs: number, minGroup = 4): Track[] {
  const byPattern = new Map<string, SummaryThread[]>();
  for (const t of threads) {
    const p = namePattern(t.name);
    let a = byPattern.get(p);
    if (!a) byPattern.set(p, (a = []));
    a.push(t);
  }
  const brief = (t: SummaryThread) => t.last_us - t.first_us < 0.25 * Math.max(durationUs, 1);
  const tracks: Track[] = [];
  const grouped = new Set<number>();
  for (const [p, a] of byPattern) {
    const short = a.filter(brief);
    if (short.length >= minGroup) {
      tracks.push({
        key: `g:${p}`,
        label: `${p || "(unnamed)"} (${short.length} threads)`,
        threads: short.map((t) => t.id),
        samples: short.reduce((n, t) => n + t.samples, 0),
      });
      for (const t of short) grouped.add(t.id);
    }
  }
  for (const t of threads) {
    if (!grouped.has(t.id)) tracks.push({ key: String(t.id), label: `${t.name || "(unnamed)"} #${t.id}`, threads: [t.id], samples: t.samples });
  }
  tracks.sort((a, b) => Math.min(...a.threads) - Math.min(...b.threads));
  return tracks;
}

/** The tracks shown first: the busy ones, at most four. */
export function defaultSelection(tracks: Track[]): string[] {
  const max = Math.max(1, ...tracks.map((t) => t.samples));
  return tracks
    .filter((t) => t.samples >= 0.01 * max)
    .sort((a, b) => b.samples - a.samples)
    .slice(0, 4)
    .map((t) => t.key);
}
