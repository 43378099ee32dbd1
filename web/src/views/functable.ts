// SPDX-License-Identifier: MIT
// The sortable table of per-function statistics (Functions tab and the
// range selection panel), and the table of @microlog.timed functions.

import type { FunctionRow, FunctionsAnswer, TimedRow } from "../api";
import { fmtBytes, fmtDuration, fmtPercent } from "../format";
import { el } from "./dom";

type Col<R> = { key: string; title: string; num: boolean; get: (r: R) => number | string; fmt: (r: R) => string };

const FN_COLS: Col<FunctionRow>[] = [
  { key: "name", title: "function", num: false, get: (r) => r.name, fmt: (r) => r.name },
  { key: "module", title: "module", num: false, get: (r) => r.module ?? "", fmt: (r) => r.module ?? "" },
  { key: "calls", title: "calls", num: true, get: (r) => r.calls, fmt: (r) => String(r.calls) },
  { key: "total_us", title: "total", num: true, get: (r) => r.total_us, fmt: (r) => fmtDuration(r.total_us) },
  { key: "self_us", title: "self", num: true, get: (r) => r.self_us, fmt: (r) => fmtDuration(r.self_us) },
  { key: "mean_us", title: "mean", num: true, get: (r) => r.mean_us, fmt: (r) => fmtDuration(r.mean_us) },
  { key: "max_us", title: "max", num: true, get: (r) => r.max_us, fmt: (r) => fmtDuration(r.max_us) },
  { key: "running", title: "CPU share", num: true, get: (r) => r.running, fmt: (r) => fmtPercent(r.running) },
];
const TIMED_COLS: Col<TimedRow>[] = [
  { key: "name", title: "timed function", num: false, get: (r) => r.name, fmt: (r) => r.name },
  { key: "calls", title: "calls", num: true, get: (r) => r.calls, fmt: (r) => String(r.calls) },
  { key: "wall_us_total", title: "total", num: true, get: (r) => r.wall_us_total, fmt: (r) => fmtDuration(r.wall_us_total) },
  { key: "wall_us_mean", title: "mean", num: true, get: (r) => r.wall_us_mean, fmt: (r) => fmtDuration(r.wall_us_mean) },
  { key: "wall_us_max", title: "max", num: true, get: (r) => r.wall_us_max, fmt: (r) => fmtDuration(r.wall_us_max) },
  { key: "cpu_us_mean", title: "CPU mean", num: true, get: (r) => r.cpu_us_mean, fmt: (r) => fmtDuration(r.cpu_us_mean) },
  { key: "mem_delta_mean", title: "memory change", num: true, get: (r) => r.mem_delta_mean, fmt: (r) => fmtBytes(r.mem_delta_mean) },
  { key: "errors", title: "errors", num: true, get: (r) => r.errors, fmt: (r) => String(r.errors) },
  { key: "anomalies", title: "anomalies", num: true, get: (r) => r.anomalies, fmt: (r) => String(r.anomalies) },
];

function table<R>(
  cols: Col<R>[],
  rows: R[],
  sort: { key: string; desc: boolean },
  resort: (key: string) => void,
  onRow: ((r: R) => void) | null,
  limit: number,
): HTMLTableElement {
  const t = el("table", "grid");
  const head = el("tr");
  for (const c of cols) {
    const th = el("th", c.num ? "num" : undefined, c.title + (sort.key === c.key ? (sort.desc ? " ▾" : " ▴") : ""));
    th.dataset.key = c.key;
    th.addEventListener("click", () => resort(c.key));
    head.append(th);
  }
  t.append(el("thead"), el("tbody"));
  t.tHead!.append(head);
  const col = cols.find((c) => c.key === sort.key) ?? cols[0]!;
  const sorted = [...rows].sort((a, b) => {
    const x = col.get(a);
    const y = col.get(b);
    const d = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return sort.desc ? -d : d;
  });
  for (const r of sorted.slice(0, limit)) {
    const tr = el("tr");
    for (const c of cols) tr.append(el("td", c.num ? "num" : undefined, c.fmt(r)));
    if (onRow) tr.addEventListener("click", () => onRow(r));
    t.tBodies[0]!.append(tr);
  }
  return t;
}

export class FunctionsTable {
  readonly root = el("div", "functable");
  private sort = { key: "total_us", desc: true };
  private tsort = { key: "wall_us_total", desc: true };
  private answer: FunctionsAnswer | null = null;

  constructor(
    private onRow: (r: FunctionRow) => void,
    private limit = 1000,
  ) {}

  set(a: FunctionsAnswer | null): void {
    this.answer = a;
    this.render();
  }

  private render(): void {
    const a = this.answer;
    this.root.replaceChildren();
    if (!a) return;
    this.root.append(
      el(
        "div",
        "sub",
        `${a.functions.length} functions, ${a.samples} samples at ${fmtDuration(a.interval_us)} between ${fmtDuration(a.from)} and ${fmtDuration(a.to)}`,
      ),
      table(
        FN_COLS,
        a.functions,
        this.sort,
        (k) => {
          this.sort = { key: k, desc: this.sort.key === k ? !this.sort.desc : k !== "name" && k !== "module" };
          this.render();
        },
        this.onRow,
        this.limit,
      ),
    );
    if (a.timed.length) {
      this.root.append(
        el("div", "sub", "@microlog.timed calls"),
        table(
          TIMED_COLS,
          a.timed,
          this.tsort,
          (k) => {
            this.tsort = { key: k, desc: this.tsort.key === k ? !this.tsort.desc : k !== "name" };
            this.render();
          },
          null,
          this.limit,
        ),
      );
    }
  }
}
