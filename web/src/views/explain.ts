// SPDX-License-Identifier: MIT
// The Explanation tab: whether the server has a language model (and which),
// how to set one when it has not, the prompt built from the recording with
// a copy button, and the model's Markdown answer, sanitized. The server
// holds the key and asks the model; the page only POSTs /explain.

import { api, ApiError, type ExplainInfo } from "../api";
import { setMarkdown } from "../markdown";
import type { Store } from "../store";
import { button, el } from "./dom";

const HOWTO = ["MICROLOG_LLM_URL=https://api.openai.com/v1 \\", "MICROLOG_LLM_MODEL=MODEL_NAME \\", "MICROLOG_LLM_KEY=YOUR_KEY \\", "microlog serve"].join(
  "\n",
);

/** An error as one line a person can act on. */
export function errorLine(e: unknown): string {
  let s: string;
  if (e instanceof ApiError) {
    const msg = e.message.replace(/^explain:\s*/, ""); // the server's prefix says what the tab already says
    if (e.status === 502) s = `The model's endpoint failed: ${msg}`;
    else if (e.status === 409) s = msg;
    else s = `The server refused (${e.status}): ${msg}`;
  } else if (e instanceof TypeError) s = `Cannot reach the server: ${e.message}`;
  else s = String(e);
  s = s.replace(/\s+/g, " ").trim();
  return s.length > 300 ? `${s.slice(0, 299)}…` : s;
}

export class ExplainTab {
  readonly root = el("div", "explain");
  private model = el("div", "explain-model");
  private ask = button("Explain this run", "explain-ask", () => void this.explain());
  private status = el("span", "explain-status sub");
  private error = el("div", "explain-error error");
  private answer = el("div", "explain-answer markdown");
  private copyBtn = button("Copy prompt", "copy-prompt", () => void this.copy());
  private copyNote = el("span", "copy-note sub");
  private prompt = el("pre", "prompt");
  private info: ExplainInfo | null = null;
  private loaded = "";
  private seq = 0; // bumped per run: an answer for another run is dropped
  private busy = false;
  private timer = 0;

  constructor(private store: Store) {
    const bar = el("div", "toolbar");
    bar.append(this.ask, this.status);
    const pbar = el("div", "toolbar");
    pbar.append(this.copyBtn, this.copyNote);
    this.error.hidden = true;
    this.answer.hidden = true;
    this.prompt.tabIndex = 0;
    this.root.append(
      this.model,
      bar,
      this.error,
      this.answer,
      el("h3", undefined, "The prompt"),
      el(
        "div",
        "sub",
        "Built from the recording alone: the module/class call graph with time shares, top functions, threads, status extremes, warnings and errors with their stacks. No argument values, no source text, no command line.",
      ),
      pbar,
      this.prompt,
    );
    store.subscribe((s, ch) => {
      if (ch.has("runId")) this.reset();
      if (s.tab !== "explanation" || !s.runId) return;
      // A live run's figures are asked again when the tab is opened, not
      // every second under the reader (or a selection being copied).
      if (!(ch.has("tab") || ch.has("runId"))) return;
      const key = `${s.runId}|${s.dataVersion}`;
      if (key !== this.loaded && !this.busy) void this.load(s.runId, key);
    });
  }

  private reset(): void {
    this.seq++;
    this.setBusy(false);
    this.info = null;
    this.loaded = "";
    this.model.replaceChildren();
    this.prompt.textContent = "";
    this.copyNote.textContent = "";
    this.status.textContent = "";
    this.showError(null);
    this.answer.hidden = true;
    this.answer.replaceChildren();
    this.ask.hidden = false;
    this.ask.disabled = true;
  }

  private async load(id: string, key: string): Promise<void> {
    this.loaded = key;
    const seq = this.seq;
    this.status.textContent = "loading the prompt…";
    try {
      const info = (await api.explainInfo(id)).body;
      if (seq !== this.seq) return;
      this.info = info;
      this.status.textContent = "";
      this.render(info);
    } catch (e) {
      if (seq !== this.seq) return;
      this.loaded = "";
      this.status.textContent = "";
      this.showError(`Cannot load the prompt: ${errorLine(e)}`);
    }
  }

  private render(info: ExplainInfo): void {
    this.model.replaceChildren();
    if (info.configured) {
      const line = el("div", "model-line");
      line.append(
        "Model: ",
        el("b", "model-name", info.model ?? "(unnamed)"),
        el("span", "sub", " — set in the server's environment; the server asks it, the key never reaches this page."),
      );
      this.model.append(line);
    } else {
      this.model.append(
        el("div", "model-line", "No language model is set, so this run cannot be explained here."),
        el(
          "div",
          "howto",
          "Start microlog serve with an OpenAI-compatible chat-completions endpoint in its environment (a local one works too, such as http://127.0.0.1:8080/v1):",
        ),
        el("pre", "howto-cmd", HOWTO),
        el("div", "sub", "MICROLOG_LLM_KEY is read by the server only and never sent to the browser. Or copy the prompt below and paste it into any model."),
      );
    }
    this.model.classList.toggle("unset", !info.configured);
    this.prompt.textContent = info.prompt;
    const live = this.store.state.live ? " · a live run: the figures so far (reopen the tab for newer ones)" : "";
    this.copyNote.textContent = `${info.prompt.length.toLocaleString("en")} characters${live}`;
    this.ask.disabled = !info.configured;
    this.ask.title = info.configured ? `ask ${info.model ?? "the model"} (the answer is cached beside the recording)` : "no model is set (see above)";
    // A cached answer is shown at once: it was paid for already.
    if (info.answer !== null) this.showAnswer(info.answer, info.model, true);
  }

  private showAnswer(md: string, model: string | null, cached: boolean): void {
    setMarkdown(this.answer, md);
    this.answer.hidden = false;
    this.ask.hidden = true;
    this.status.textContent = `${cached ? "The cached answer" : "The answer"} of ${model ?? "the model"}, from the recording's call graph (not its source): it may be wrong.`;
  }

  private showError(text: string | null): void {
    this.error.hidden = text === null;
    this.error.textContent = text ?? "";
  }

  private setBusy(on: boolean): void {
    this.busy = on;
    this.root.classList.toggle("busy", on);
    this.answer.setAttribute("aria-busy", String(on));
    clearInterval(this.timer);
    this.ask.textContent = on ? "Asking the model…" : "Explain this run";
    if (!on) return;
    this.ask.disabled = true;
    const t0 = performance.now();
    const tick = () => {
      const s = Math.round((performance.now() - t0) / 1000);
      this.status.textContent = `waiting for ${this.info?.model ?? "the model"}: ${s} s (an answer can take a minute)`;
    };
    tick();
    this.timer = window.setInterval(tick, 1000);
  }

  async explain(): Promise<void> {
    const id = this.store.state.runId;
    if (!id || this.busy) return;
    const seq = this.seq;
    this.showError(null);
    this.setBusy(true);
    try {
      const a = await api.explain(id);
      if (seq !== this.seq) return;
      this.setBusy(false);
      this.showAnswer(a.answer, a.model, a.cached);
    } catch (e) {
      if (seq !== this.seq) return;
      this.setBusy(false);
      this.status.textContent = "";
      this.ask.disabled = !this.info?.configured;
      this.showError(errorLine(e));
    }
  }

  /** The clipboard where the page may use it (a secure context), else the prompt selected for Ctrl+C. */
  async copy(): Promise<void> {
    const text = this.info?.prompt ?? "";
    if (!text) return;
    try {
      if (!window.isSecureContext || typeof navigator.clipboard?.writeText !== "function") throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      this.copyNote.textContent = "copied to the clipboard";
      this.copyBtn.dataset.copied = "clipboard";
    } catch {
      this.prompt.focus();
      window.getSelection()?.selectAllChildren(this.prompt);
      let done = false;
      try {
        done = document.execCommand("copy");
      } catch {
        /* not allowed here */
      }
      this.copyNote.textContent = done ? "copied (the prompt is selected)" : "the prompt is selected: press Ctrl+C (⌘C) to copy it";
      this.copyBtn.dataset.copied = done ? "selection" : "selected";
    }
  }
}
