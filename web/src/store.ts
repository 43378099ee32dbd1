// SPDX-License-Identifier: MIT
// The one store: every piece of UI state that more than one view reads,
// with a subscription per change. Views keep only their own DOM and caches.

import type { LogEntry, RunInfo, RunsAnswer, SearchAnswer, Summary } from "./api";
import type { Window } from "./lod";

export type Tab = "timeline" | "log" | "functions" | "design" | "explanation" | "tips";
export const TABS: Tab[] = ["timeline", "log", "functions", "design", "explanation", "tips"];

/** A flame chart row: one thread, or several short-lived threads of one name. */
export interface Track {
  key: string; // "3" for thread 3, "g:NAME" for a group
  label: string;
  threads: number[];
  samples: number;
}

export interface SearchHit {
  time: number;
  end: number; // == time for a log entry
  kind: "span" | "log";
  thread?: number;
  depth?: number;
  fid?: number;
  index?: number; // log entry index
}

export interface State {
  runs: RunsAnswer | null;
  runFilter: string;
  runId: string | null;
  run: RunInfo | null;
  summary: Summary | null;
  endUs: number;
  live: boolean;
  follow: boolean;
  tab: Tab;
  tracks: Track[];
  selectedTracks: string[];
  view: Window;
  selection: Window | null;
  hover: number | null;
  highlight: Set<number> | null; // function ids lit, the rest greyed
  highlightFrom: "search" | "function" | null;
  search: { q: string; answer: SearchAnswer | null; hits: SearchHit[]; index: number; error: string | null };
  dialog: LogEntry | null;
  dataVersion: number; // bumped when a live run grows: caches past the old end are stale
  error: string | null;
}

type Listener = (s: State, changed: Set<keyof State>) => void;

export class Store {
  private listeners: Listener[] = [];
  state: State = {
    runs: null,
    runFilter: "",
    runId: null,
    run: null,
    summary: null,
    endUs: 0,
    live: false,
    follow: false,
    tab: "timeline",
    tracks: [],
    selectedTracks: [],
    view: { from: 0, to: 1 },
    selection: null,
    hover: null,
    highlight: null,
    highlightFrom: null,
    search: { q: "", answer: null, hits: [], index: -1, error: null },
    dialog: null,
    dataVersion: 0,
    error: null,
  };

  set(patch: Partial<State>): void {
    const changed = new Set<keyof State>();
    for (const k of Object.keys(patch) as (keyof State)[]) {
      if (this.state[k] !== patch[k]) changed.add(k);
    }
    if (changed.size === 0) return;
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l(this.state, changed);
  }

  subscribe(l: Listener): void {
    this.listeners.push(l);
  }

  /** Threads of the selected tracks, in order, without repeats. */
  selectedThreads(): number[] {
    const out: number[] = [];
    for (const t of this.state.tracks) {
      if (this.state.selectedTracks.includes(t.key)) out.push(...t.threads);
    }
    return [...new Set(out)];
  }
}

/** Clamp a window to the run (at least 10 µs wide, never past [0, end]). */
export function clampView(v: Window, end: number): Window {
  const full = Math.max(end, 10);
  const w = Math.min(Math.max(v.to - v.from, 10), full);
  let from = Math.max(0, v.from);
  if (from + w > full) from = full - w;
  return { from, to: from + w };
}
