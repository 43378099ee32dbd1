// SPDX-License-Identifier: MIT
// The dialog of one log entry: time, level, thread, the message as
// sanitized Markdown, the stack with source links, previous and next.

import { api, type LogEntry } from "../api";
import { fmtTime } from "../format";
import { setMarkdown } from "../markdown";
import type { Store } from "../store";
import { button, draggable, el, sourceLink } from "./dom";
import { levelColour } from "./timeline";

export class LogDialog {
  readonly root = el("div", "dialog log-dialog");
  private head = el("div", "dialog-head");
  private body = el("div", "dialog-body");

  constructor(
    private store: Store,
    private show: (e: LogEntry) => void,
  ) {
    this.root.hidden = true;
    this.root.append(this.head, this.body);
    draggable(this.root, this.head);
    store.subscribe((s, ch) => {
      if (ch.has("dialog")) this.render(s.dialog);
    });
  }

  async step(delta: number): Promise<void> {
    const cur = this.store.state.dialog;
    const id = this.store.state.runId;
    if (!cur || !id) return;
    const offset = cur.index + delta;
    if (offset < 0) return;
    const a = await api.logs(id, { offset, limit: 1 });
    const e = a.body.entries[0];
    if (e) this.show(e);
  }

  private render(e: LogEntry | null): void {
    this.root.hidden = e === null;
    if (!e) return;
    const title = el("span", "dialog-title");
    const badge = el("span", "level", e.level_name || String(e.level));
    badge.style.background = levelColour(e.level);
    title.append(badge, ` ${fmtTime(e.time_us, 1000)}`);
    const prev = button("‹ previous", "prev", () => void this.step(-1));
    const next = button("next ›", "next", () => void this.step(1));
    prev.disabled = e.index <= 0;
    const close = button("×", "close", () => this.store.set({ dialog: null }));
    this.head.replaceChildren(title, prev, next, close);
    const msg = el("div", "markdown");
    setMarkdown(msg, e.text);
    const stack = el("ol", "stack");
    for (const f of e.stack) {
      const li = el("li");
      li.append(el("span", "fn", f.function), " ", sourceLink(f.file, f.line));
      stack.append(li);
    }
    this.body.replaceChildren(el("div", "sub", `thread ${e.thread_name} #${e.thread} · ${e.source} · entry ${e.index + 1}`), msg);
    if (e.stack.length) this.body.append(el("div", "sub", "stack (most recent call last)"), stack);
    this.root.dataset.index = String(e.index);
    this.root.dataset.time = String(e.time_us);
  }
}
