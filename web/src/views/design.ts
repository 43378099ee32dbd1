// SPDX-License-Identifier: MIT
// The Design tab: the call graph between modules and classes, laid out in
// layers by dagre from sorted input (the same layout every time), edge
// width by time, nodes draggable.

import dagre from "@dagrejs/dagre";
import { api, type CallgraphAnswer } from "../api";
import { fmtDuration, fmtPercent } from "../format";
import type { Store } from "../store";
import { el } from "./dom";

const SVG = "http://www.w3.org/2000/svg";
function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

interface Pos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export class DesignTab {
  readonly root = el("div", "design");
  private info = el("div", "sub");
  private holder = el("div", "graph");
  private loaded = "";
  private pos = new Map<string, Pos>();

  constructor(private store: Store) {
    this.root.append(this.info, this.holder);
    store.subscribe((s, ch) => {
      if (s.tab === "design" && (ch.has("tab") || ch.has("runId")) && s.runId && this.loaded !== s.runId) void this.load(s.runId);
    });
  }

  private async load(id: string): Promise<void> {
    this.loaded = id;
    this.info.textContent = "loading the call graph…";
    try {
      const g = (await api.callgraph(id)).body;
      this.layout(g);
      this.render(g);
    } catch (e) {
      this.info.textContent = String(e);
    }
  }

  /** Deterministic: nodes and edges are added sorted, so dagre gives the same picture. */
  layout(g: CallgraphAnswer): void {
    const d = new dagre.graphlib.Graph();
    d.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 70, marginx: 20, marginy: 20 });
    d.setDefaultEdgeLabel(() => ({}));
    for (const n of [...g.nodes].sort((a, b) => a.id.localeCompare(b.id))) {
      const label = n.class ? `${n.module}.${n.class}` : n.module;
      d.setNode(n.id, { width: Math.max(200, label.length * 7.5 + 20), height: 38 });
    }
    for (const e of [...g.edges].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to))) {
      if (e.from !== e.to && d.hasNode(e.from) && d.hasNode(e.to)) d.setEdge(e.from, e.to);
    }
    dagre.layout(d);
    this.pos.clear();
    for (const id of d.nodes()) {
      const n = d.node(id);
      this.pos.set(id, { x: n.x, y: n.y, w: n.width, h: n.height });
    }
  }

  private render(g: CallgraphAnswer): void {
    const total = Math.max(1, g.total_us);
    this.info.textContent = `${g.nodes.length} modules and classes, ${g.edges.length} calls between them${g.folded ? " (small ones folded into their modules)" : ""}; edge width by time, drag nodes to move them`;
    let W = 200;
    let H = 100;
    for (const p of this.pos.values()) {
      W = Math.max(W, p.x + p.w / 2 + 20);
      H = Math.max(H, p.y + p.h / 2 + 20);
    }
    const root = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "callgraph" });
    const defs = svg("defs", {});
    const marker = svg("marker", {
      id: "arrow",
      viewBox: "0 0 10 10",
      refX: 10,
      refY: 5,
      markerWidth: 9,
      markerHeight: 9,
      markerUnits: "userSpaceOnUse",
      orient: "auto-start-reverse",
    });
    marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#888" }));
    defs.append(marker);
    root.append(defs);
    const edgeEls: { from: string; to: string; path: SVGPathElement }[] = [];
    const maxT = Math.max(1, ...g.edges.map((e) => e.time_us));
    const edgesG = svg("g", {});
    for (const e of g.edges) {
      if (e.from === e.to || !this.pos.has(e.from) || !this.pos.has(e.to)) continue;
      const path = svg("path", { class: "edge", "stroke-width": (1 + 9 * Math.sqrt(e.time_us / maxT)).toFixed(2), "marker-end": "url(#arrow)" });
      const title = svg("title", {});
      title.textContent = `${e.from} → ${e.to}: ${fmtDuration(e.time_us)} (${e.functions.slice(0, 8).join(", ")}${e.functions.length > 8 ? ", …" : ""})`;
      path.append(title);
      edgesG.append(path);
      edgeEls.push({ from: e.from, to: e.to, path });
    }
    root.append(edgesG);
    const place = () => {
      for (const e of edgeEls) {
        const a = this.pos.get(e.from)!;
        const b = this.pos.get(e.to)!;
        const x1 = a.x + a.w / 2;
        const x2 = b.x - b.w / 2;
        const mx = (x1 + x2) / 2;
        e.path.setAttribute("d", `M ${x1} ${a.y} C ${mx} ${a.y}, ${mx} ${b.y}, ${x2} ${b.y}`);
      }
    };
    for (const n of g.nodes) {
      const p = this.pos.get(n.id);
      if (!p) continue;
      const grp = svg("g", { class: `node${n.class ? " class" : ""}`, transform: `translate(${p.x - p.w / 2},${p.y - p.h / 2})` });
      grp.dataset.node = n.id;
      const share = n.total_us / total;
      grp.append(svg("rect", { width: p.w, height: p.h, rx: 5, class: share > 0.3 ? "hot" : "" }));
      const t1 = svg("text", { x: 8, y: 15 });
      t1.textContent = n.class ? `${n.module}.${n.class}` : n.module;
      const t2 = svg("text", { x: 8, y: 30, class: "small" });
      t2.textContent = `${fmtDuration(n.total_us)} · ${fmtPercent(share)} · self ${fmtDuration(n.self_us)}`;
      grp.append(t1, t2);
      grp.addEventListener("pointerdown", (e) => {
        grp.setPointerCapture(e.pointerId);
        const sx = e.clientX;
        const sy = e.clientY;
        const ox = p.x;
        const oy = p.y;
        const move = (m: PointerEvent) => {
          p.x = ox + m.clientX - sx;
          p.y = oy + m.clientY - sy;
          grp.setAttribute("transform", `translate(${p.x - p.w / 2},${p.y - p.h / 2})`);
          place();
        };
        const up = () => {
          grp.removeEventListener("pointermove", move);
          grp.removeEventListener("pointerup", up);
        };
        grp.addEventListener("pointermove", move);
        grp.addEventListener("pointerup", up);
      });
      root.append(grp);
    }
    place();
    this.holder.replaceChildren(root);
  }
}
