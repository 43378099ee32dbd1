// SPDX-License-Identifier: MIT
// Status and metric lines drawn by uPlot: per series a min-max band (so a
// one-sample spike shows at any zoom) and the mean as a line; the x scale
// follows the timeline's window; a label shows the value under the hairline.

import uPlot from "uplot";
import type { Series, StatusAnswer } from "../api";
import { fmtValue } from "../format";
import type { Window } from "../lod";
import { el } from "./dom";

const COLOURS: Record<string, string> = { cpu: "#2ca02c", rss: "#d62728", memory: "#d62728", modules: "#c9a400", objects: "#555" };
const EXTRA = ["#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"];
const HEIGHT = 30;

interface Chart {
  name: string;
  unit: string;
  plot: uPlot;
  box: HTMLElement;
  label: HTMLElement;
  xs: number[];
  mean: number[];
  min: number[];
  max: number[];
}

export class StatusCharts {
  readonly root = el("div", "status");
  private charts = new Map<string, Chart>();
  private dataKey = "";
  private width = 800;

  resize(w: number): void {
    this.width = w;
    for (const c of this.charts.values()) c.plot.setSize({ width: w, height: HEIGHT });
  }

  private colour(name: string, i: number): string {
    return COLOURS[name] ?? EXTRA[i % EXTRA.length] ?? "#333";
  }

  private make(s: Series, i: number): Chart {
    const box = el("div", "status-chart");
    box.dataset.series = s.name;
    const label = el("div", "status-label");
    const colour = this.colour(s.name, i);
    const percent = s.unit === "%";
    const plot = new uPlot(
      {
        width: this.width,
        height: HEIGHT,
        legend: { show: false },
        cursor: { show: false, drag: { x: false, y: false } },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        axes: [{ show: false }, { show: false }],
        padding: [3, 0, 2, 0],
        scales: {
          x: { time: false, auto: false },
          y: { auto: true, range: (_u, lo, hi) => (percent ? [0, Math.max(100, hi)] : [Math.min(0, lo), hi > lo ? hi * 1.05 : lo + 1]) },
        },
        series: [
          {},
          { stroke: "transparent", width: 0, points: { show: false } },
          { stroke: "transparent", width: 0, points: { show: false } },
          { stroke: colour, width: 1.25, points: { show: false } },
        ],
        bands: [{ series: [2, 1], fill: `${colour}40` }],
      },
      [[], [], [], []],
      box,
    );
    box.append(label);
    this.root.append(box);
    return { name: s.name, unit: s.unit, plot, box, label, xs: [], mean: [], min: [], max: [] };
  }

  /** New data from the status tiles of one level (merged, each bucket once). */
  update(tiles: StatusAnswer[], key: string): void {
    if (key === this.dataKey) return;
    this.dataKey = key;
    const merged = new Map<string, { s: Series; b: Map<number, [number, number, number]> }>();
    for (const t of tiles) {
      for (const s of t.series) {
        let m = merged.get(s.name);
        if (!m) merged.set(s.name, (m = { s, b: new Map() }));
        for (const [x, lo, hi, mean] of s.buckets) m.b.set(x, [lo, hi, mean]);
      }
    }
    let i = 0;
    for (const [name, m] of merged) {
      let c = this.charts.get(name);
      if (!c) this.charts.set(name, (c = this.make(m.s, i)));
      const xs = [...m.b.keys()].sort((a, b) => a - b);
      c.xs = xs;
      c.min = xs.map((x) => m.b.get(x)![0]);
      c.max = xs.map((x) => m.b.get(x)![1]);
      c.mean = xs.map((x) => m.b.get(x)![2]);
      c.plot.setData([c.xs, c.min, c.max, c.mean], false);
      i++;
    }
  }

  setView(v: Window, hover: number | null, lit: Set<string> | null): void {
    for (const c of this.charts.values()) {
      c.plot.setScale("x", { min: v.from, max: v.to });
      c.box.classList.toggle("dim", lit !== null && !lit.has(c.name));
      const at = hover === null ? null : this.at(c, hover);
      let text = c.name;
      if (at) text += `  ${fmtValue(at.mean, c.unit)}${at.max !== at.min ? `  (${fmtValue(at.min, c.unit)} – ${fmtValue(at.max, c.unit)})` : ""}`;
      else if (c.xs.length) text += `  max ${fmtValue(Math.max(...c.max), c.unit)}`;
      if (c.label.textContent !== text) c.label.textContent = text;
    }
  }

  private at(c: Chart, t: number): { mean: number; min: number; max: number } | null {
    let lo = 0;
    let hi = c.xs.length - 1;
    if (hi < 0 || t < c.xs[0]!) return null;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (c.xs[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return { mean: c.mean[lo]!, min: c.min[lo]!, max: c.max[lo]! };
  }

  valuesAt(t: number): { name: string; unit: string; mean: number }[] {
    const out: { name: string; unit: string; mean: number }[] = [];
    for (const c of this.charts.values()) {
      const v = this.at(c, t);
      if (v) out.push({ name: c.name, unit: c.unit, mean: v.mean });
    }
    return out;
  }

  clear(): void {
    for (const c of this.charts.values()) c.plot.destroy();
    this.charts.clear();
    this.root.replaceChildren();
    this.dataKey = "";
  }
}
