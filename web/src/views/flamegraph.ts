// SPDX-License-Identifier: MIT
// The aggregated flame graph of a range (stacks merged, no time axis),
// drawn on a canvas, batched by colour, hit-tested against its boxes.

import type { FlamegraphAnswer } from "../api";
import { batchColor, fitLabel, hueOf, layoutFlamegraph, ROW, waitLevel, type FlameBox } from "../draw";
import { fmtDuration, fmtPercent } from "../format";
import { el } from "./dom";

export class FlameGraph {
  readonly root = el("div", "flamegraph");
  private canvas = el("canvas");
  private tip = el("div", "sub");
  private boxes: FlameBox[] = [];
  private answer: FlamegraphAnswer | null = null;
  private interval = 1000;

  constructor() {
    this.root.append(this.tip, this.canvas);
    this.canvas.addEventListener("mousemove", (e) => {
      const b = this.hit(e);
      const f = b && this.answer?.functions[String(b.fid)];
      this.tip.textContent =
        b && f
          ? `${f.name}: ${fmtDuration(b.total * this.interval)} total, ${fmtDuration(b.self * this.interval)} self, CPU ${fmtPercent(b.total ? b.running / b.total : 0)}`
          : "aggregated flame graph of the range (hover a box)";
    });
  }

  private hit(e: MouseEvent): FlameBox | null {
    const r = this.canvas.getBoundingClientRect();
    const x = (e.clientX - r.left) / r.width;
    const d = Math.floor((e.clientY - r.top) / ROW);
    return this.boxes.find((b) => b.depth === d && b.x <= x && x < b.x + b.w) ?? null;
  }

  set(a: FlamegraphAnswer | null, intervalUs: number): void {
    this.answer = a;
    this.interval = intervalUs;
    this.draw();
  }

  draw(): void {
    const a = this.answer;
    const W = Math.max(200, this.root.clientWidth || 800);
    if (!a) {
      this.boxes = [];
      return;
    }
    const { boxes, maxDepth } = layoutFlamegraph(a);
    this.boxes = boxes;
    const H = (maxDepth + 1) * ROW;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = W * dpr;
    this.canvas.height = H * dpr;
    this.canvas.style.width = `${W}px`;
    this.canvas.style.height = `${H}px`;
    const c = this.canvas.getContext("2d");
    if (!c) return;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    const batches = new Map<string, FlameBox[]>();
    for (const b of boxes) {
      if (b.w * W < 0.5) continue;
      const style = batchColor(hueOf(a.functions[String(b.fid)]), waitLevel(b.running, b.total - b.running));
      let l = batches.get(style);
      if (!l) batches.set(style, (l = []));
      l.push(b);
    }
    for (const [style, l] of batches) {
      c.fillStyle = style;
      c.beginPath();
      for (const b of l) c.rect(b.x * W, b.depth * ROW, Math.max(0.5, b.w * W - 0.5), ROW - 1);
      c.fill();
    }
    c.font = "11px ui-monospace, 'DejaVu Sans Mono', monospace";
    c.textBaseline = "middle";
    c.fillStyle = "#1d1d1d";
    const charPx = c.measureText("M").width || 6.6;
    for (const b of boxes) {
      const f = a.functions[String(b.fid)];
      const t = f && fitLabel(f.name, b.w * W, charPx);
      if (t) c.fillText(t, b.x * W + 3, b.depth * ROW + ROW / 2);
    }
    this.tip.textContent = `aggregated flame graph: ${a.samples} samples (hover a box)`;
  }
}
