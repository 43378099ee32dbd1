// SPDX-License-Identifier: MIT
// Deep links: the URL's hash holds run, tab, threads, window, selection and
// search, so a link reopens the same view. Pure parse and format.

import { TABS, type Tab } from "./store";
import type { Window } from "./lod";

export interface Link {
  run: string | null;
  tab: Tab;
  threads: string[] | null;
  view: Window | null;
  selection: Window | null;
  q: string;
}

function win(s: string | null): Window | null {
  if (!s) return null;
  const [a, b] = s.split(",").map(Number);
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= a) return null;
  return { from: a, to: b };
}

export function parseLink(hash: string): Link {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  const tab = p.get("tab") as Tab | null;
  const threads = p.get("threads");
  return {
    run: p.get("run"),
    tab: tab && TABS.includes(tab) ? tab : "timeline",
    threads: threads ? threads.split(",").filter(Boolean) : null,
    view: win(p.get("t")),
    selection: win(p.get("sel")),
    q: p.get("q") ?? "",
  };
}

export function formatLink(l: Link): string {
  const parts: string[] = [];
  if (l.run) parts.push(`run=${l.run}`);
  if (l.tab !== "timeline") parts.push(`tab=${l.tab}`);
  if (l.threads) parts.push(`threads=${l.threads.map(encodeURIComponent).join(",")}`);
  if (l.view) parts.push(`t=${Math.round(l.view.from)},${Math.round(l.view.to)}`);
  if (l.selection) parts.push(`sel=${Math.round(l.selection.from)},${Math.round(l.selection.to)}`);
  if (l.q) parts.push(`q=${encodeURIComponent(l.q)}`);
  return `#${parts.join("&")}`;
}
