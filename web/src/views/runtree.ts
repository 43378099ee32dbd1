// SPDX-License-Identifier: MIT
// The run tree at the left: labels, then runs newest first, a regular
// expression filter, live runs marked; arrow keys move between runs.

import type { RunInfo, RunsAnswer } from "../api";
import { fmtBytes, fmtDuration, fmtStamp } from "../format";
import type { Store } from "../store";
import { el } from "./dom";

export class RunTree {
  readonly root = el("nav", "runtree");
  private filter = el("input", "filter");
  private ask = 0;
  private list = el("div", "runs");
  private visible: RunInfo[] = [];

  constructor(
    private store: Store,
    private open: (id: string) => void,
    private refresh: () => Promise<void> = async () => {},
  ) {
    this.filter.placeholder = "filter runs (regex)";
    this.filter.spellcheck = false;
    this.filter.addEventListener("input", () => {
      store.set({ runFilter: this.filter.value });
      // A central store filters its index itself (by text), a moment after the typing stops.
      if (store.state.runs?.store) {
        window.clearTimeout(this.ask);
        this.ask = window.setTimeout(() => void this.refresh(), 300);
      }
    });
    this.root.append(el("div", "brand", "microlog"), this.filter, this.list);
    this.list.tabIndex = 0;
    this.list.addEventListener("keydown", (e) => this.key(e));
    store.subscribe((s, ch) => {
      if (ch.has("runs") || ch.has("runFilter") || ch.has("runId")) this.render(s.runs, s.runFilter, s.runId);
    });
  }

  private key(e: KeyboardEvent): void {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    e.preventDefault();
    const i = this.visible.findIndex((r) => r.id === this.store.state.runId);
    const j = Math.max(0, Math.min(this.visible.length - 1, i + (e.key === "ArrowDown" ? 1 : -1)));
    const r = this.visible[j];
    if (r) this.open(r.id);
  }

  private render(runs: RunsAnswer | null, filter: string, current: string | null): void {
    this.list.replaceChildren();
    this.visible = [];
    if (!runs) return;
    let re: RegExp | null = null;
    try {
      re = filter ? new RegExp(filter, "i") : null;
      this.filter.classList.remove("bad");
    } catch {
      this.filter.classList.add("bad");
    }
    for (const g of runs.labels) {
      const rs = g.runs.filter((r) => !re || re.test(r.id));
      if (!rs.length) continue;
      const group = el("details", "label");
      group.open = true;
      const sum = el("summary", undefined, g.label);
      sum.append(el("span", "count", ` ${rs.length}`));
      group.append(sum);
      for (const r of rs) {
        const item = el("div", `run${r.id === current ? " current" : ""}${r.error ? " damaged" : ""}`);
        item.dataset.run = r.id;
        const when = el("span", "when", fmtStamp(r.start_unix_ns));
        // Runs of a central store are known by their index until opened: size and host.
        const text = r.host !== undefined ? `${fmtBytes(r.bytes)} · ${r.host}` : `${fmtDuration(r.duration_us)} · ${fmtBytes(r.bytes)} · ${r.threads} thr`;
        const what = el("span", "what", text);
        item.append(when);
        if (r.live) item.append(el("span", "live", "live"));
        else if (!r.complete) item.append(el("span", "incomplete", "incomplete"));
        item.append(what);
        item.title = r.error ? `${r.id}: ${r.error}` : r.id;
        item.addEventListener("click", () => this.open(r.id));
        group.append(item);
        this.visible.push(r);
      }
      this.list.append(group);
    }
    if (!this.visible.length) this.list.append(el("div", "empty", runs.labels.length ? "no run matches" : `no recordings in ${runs.dir}`));
    else if (runs.store && runs.total !== undefined && runs.total > this.visible.length)
      this.list.append(el("div", "empty", `${this.visible.length} of ${runs.total} runs: type to search the store`));
  }
}
