// SPDX-License-Identifier: MIT
// The movable popup of a clicked span: function, source link, duration,
// CPU share while it ran, caller, and its similar calls as bars with the
// anomalous ones marked; clicking a call jumps to it.

import { api, type SpanAnswer } from "../api";
import { fmtDuration, fmtPercent, fmtTime } from "../format";
import { button, draggable, el, sourceLink } from "./dom";

export class SpanPopup {
  readonly root = el("div", "dialog span-popup");
  private head = el("div", "dialog-head");
  private body = el("div", "dialog-body");
  answer: SpanAnswer | null = null;

  constructor(private jump: (thread: number, start: number, duration: number, depth: number) => void) {
    this.root.hidden = true;
    this.root.append(this.head, this.body);
    draggable(this.root, this.head);
  }

  onClose: () => void = () => {};

  close(): void {
    this.root.hidden = true;
    this.answer = null;
    this.onClose();
  }

  async open(runId: string, thread: number, at: number, depth: number, x: number, y: number): Promise<void> {
    if (this.root.hidden) {
      this.root.style.left = `${Math.min(x + 12, window.innerWidth - 440)}px`;
      this.root.style.top = `${Math.min(y + 12, window.innerHeight - 380)}px`;
    }
    this.root.hidden = false;
    for (const k of ["data-duration-us", "data-cpu-share", "data-start-us", "data-similar"]) this.root.removeAttribute(k);
    this.head.replaceChildren(
      el("span", "dialog-title", "loading…"),
      button("×", "close", () => this.close()),
    );
    this.body.replaceChildren();
    try {
      const a = (await api.span(runId, thread, at, depth)).body;
      this.render(a);
    } catch (e) {
      this.body.replaceChildren(el("div", "error", String(e)));
    }
  }

  private render(a: SpanAnswer): void {
    this.answer = a;
    const name = a.function.class && !a.function.name.includes(".") ? `${a.function.class}.${a.function.name}` : a.function.name;
    this.head.replaceChildren(
      el("span", "dialog-title", name),
      button("×", "close", () => this.close()),
    );
    const dl = el("dl", "facts");
    const row = (k: string, v: string | Node, key: string) => {
      const dd = el("dd");
      dd.dataset.key = key;
      dd.append(v);
      dl.append(el("dt", undefined, k), dd);
    };
    row("source", sourceLink(a.function.file, a.function.line), "source");
    row("duration", fmtDuration(a.duration_us), "duration");
    row("start", fmtTime(a.start_us, 1000), "start");
    const gil = a.gil_wait ? `, ${a.gil_wait} of them for the GIL` : "";
    row("CPU while it ran", `${fmtPercent(a.cpu_share)} (${a.running} running, ${a.waiting} waiting samples${gil})`, "cpu");
    row("thread · depth", `#${a.thread} · ${a.depth}`, "thread");
    if (a.caller) row("called by", a.caller.name, "caller");
    this.root.dataset.durationUs = String(a.duration_us);
    this.root.dataset.cpuShare = String(a.cpu_share);
    this.root.dataset.startUs = String(a.start_us);
    this.root.dataset.similar = String(a.similar.count);
    this.body.replaceChildren(dl);
    if (a.anomaly)
      this.body.append(
        el(
          "div",
          "anomaly-note",
          `anomalous: longer than ${fmtDuration(a.similar.threshold_us)} (median ${fmtDuration(a.similar.median_us)} + 3 × 1.4826 × MAD)`,
        ),
      );
    const sim = a.similar;
    this.body.append(
      el(
        "div",
        "sub",
        `${sim.count} similar call${sim.count === 1 ? "" : "s"} (same function, same caller): median ${fmtDuration(sim.median_us)}, ${sim.anomalies} anomal${sim.anomalies === 1 ? "y" : "ies"}${sim.truncated ? ", first 500 shown" : ""}`,
      ),
    );
    const list = el("div", "similar");
    const max = Math.max(1, ...sim.calls.map((c) => c.duration_us));
    for (const c of sim.calls.slice(0, 200)) {
      const r = el("div", `sim${c.anomaly ? " anomaly" : ""}${c.start_us === a.start_us && c.thread === a.thread ? " this" : ""}`);
      r.title = `thread ${c.thread} at ${fmtTime(c.start_us, 1)}: ${fmtDuration(c.duration_us)}${c.anomaly ? " (anomaly)" : ""}`;
      const bar = el("span", "bar");
      bar.style.width = `${Math.max(1, (c.duration_us / max) * 100)}%`;
      r.append(el("span", "t", fmtTime(c.start_us, 1000)), el("span", "barbox"), el("span", "d", fmtDuration(c.duration_us)));
      r.children[1]!.append(bar);
      r.addEventListener("click", () => this.jump(c.thread, c.start_us, c.duration_us, a.depth));
      list.append(r);
    }
    this.body.append(list);
  }
}
