// SPDX-License-Identifier: MIT
// The Log tab: every entry in order with level, time, thread and Markdown,
// the stack on demand, filters by level and text (a regular expression the
// server applies); clicking an entry shows it on the timeline.

import { api, ApiError, type LogEntry } from "../api";
import { fmtTime } from "../format";
import { setMarkdown } from "../markdown";
import type { Store } from "../store";
import { button, el, sourceLink } from "./dom";
import { levelColour } from "./timeline";

const PAGE = 500;

export function logLine(e: LogEntry, onShow: ((e: LogEntry) => void) | null, lit: Set<number> | null): HTMLElement {
  const row = el("div", `logline${lit && !lit.has(e.index) ? " dim" : ""}${lit && lit.has(e.index) ? " lit" : ""}`);
  row.dataset.index = String(e.index);
  const lv = el("span", "level", e.level_name);
  lv.style.background = levelColour(e.level);
  const time = el("a", "time", fmtTime(e.time_us, 1000));
  time.href = "#";
  time.addEventListener("click", (ev) => {
    ev.preventDefault();
    onShow?.(e);
  });
  const msg = el("div", "markdown");
  setMarkdown(msg, e.text);
  const head = el("div", "loghead");
  head.append(lv, time, el("span", "thread", `${e.thread_name} #${e.thread}`), el("span", "source", e.source));
  row.append(head, msg);
  if (e.stack.length) {
    const stack = el("ol", "stack");
    stack.hidden = true;
    for (const f of e.stack) {
      const li = el("li");
      li.append(el("span", "fn", f.function), " ", sourceLink(f.file, f.line));
      stack.append(li);
    }
    head.append(
      button(`stack (${e.stack.length})`, "stack-toggle", () => {
        stack.hidden = !stack.hidden;
      }),
    );
    row.append(stack);
  }
  return row;
}

export class LogTab {
  readonly root = el("div", "logtab");
  private level = el("select");
  private q = el("input", "q");
  private count = el("span", "sub");
  private list = el("div", "loglist");
  private more = button("more", "more", () => void this.load(true));
  private offset = 0;
  private loadedFor = "";
  private seq = 0;

  constructor(
    private store: Store,
    private onShow: (e: LogEntry) => void,
  ) {
    for (const [v, t] of [
      ["0", "all levels"],
      ["10", "debug and up"],
      ["20", "info and up"],
      ["30", "warning and up"],
      ["40", "error and up"],
      ["50", "critical"],
    ] as const) {
      const o = el("option", undefined, t);
      o.value = v;
      this.level.append(o);
    }
    this.q.placeholder = "filter text (regex)";
    this.level.addEventListener("change", () => void this.load(false));
    let timer = 0;
    this.q.addEventListener("input", () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => void this.load(false), 250);
    });
    const bar = el("div", "toolbar");
    bar.append(this.level, this.q, this.count);
    this.root.append(bar, this.list, this.more);
    store.subscribe((s, ch) => {
      if (s.tab !== "log") return;
      if (ch.has("tab") || ch.has("runId") || ch.has("selection") || ch.has("search") || (ch.has("dataVersion") && s.live)) {
        const key = `${s.runId}|${s.selection?.from}|${s.selection?.to}|${s.dataVersion}|${s.search.q}`;
        if (key !== this.loadedFor) void this.load(false);
      }
    });
  }

  async load(append: boolean): Promise<void> {
    const s = this.store.state;
    if (!s.runId) return;
    const seq = ++this.seq;
    this.loadedFor = `${s.runId}|${s.selection?.from}|${s.selection?.to}|${s.dataVersion}|${s.search.q}`;
    if (!append) this.offset = 0;
    try {
      const a = await api.logs(s.runId, {
        from: s.selection?.from,
        to: s.selection?.to,
        level: Number(this.level.value) || undefined,
        q: this.q.value || undefined,
        offset: this.offset,
        limit: PAGE,
      });
      if (seq !== this.seq) return;
      this.q.classList.remove("bad");
      if (!append) this.list.replaceChildren();
      const lit = s.search.answer ? new Set(s.search.answer.logs.map((l) => l.index)) : null;
      for (const e of a.body.entries) this.list.append(logLine(e, this.onShow, lit));
      this.offset += a.body.entries.length;
      this.count.textContent = `${a.body.total} entries${s.selection ? " in the selected range" : ""}, ${this.offset} shown`;
      this.more.hidden = this.offset >= a.body.total;
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) this.q.classList.add("bad");
      this.count.textContent = String(e);
    }
  }
}
