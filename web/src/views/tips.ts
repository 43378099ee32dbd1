// SPDX-License-Identifier: MIT
// The Tips tab: microlog's own observations from the recording first (each
// with its link, if any), then the modules the time went to with links to
// their documentation and to searches for performance advice. Every link
// opens in a new tab, without opener or referrer.

import { api, type ModuleTip, type Observation, type TipsAnswer } from "../api";
import { fmtPercent } from "../format";
import type { Store } from "../store";
import { el } from "./dom";

const KIND_TITLE: Record<string, string> = {
  gil: "GIL",
  import: "import",
  anomaly: "anomaly",
  "open-file": "open file",
  leak: "growth",
  error: "errors",
  exit: "exit",
};

/** An outside link: http(s) only (the server builds them, but a recording names the modules). */
export function outLink(text: string, url: string): HTMLElement {
  if (!/^https?:\/\//i.test(url)) return el("span", undefined, text);
  const a = el("a", "out", text);
  a.href = url;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

export class TipsTab {
  readonly root = el("div", "tips");
  private info = el("div", "sub");
  private obs = el("ul", "observations");
  private modules = el("div", "modules");
  private loaded = "";
  private seq = 0;

  constructor(private store: Store) {
    this.root.append(el("h3", undefined, "Observations"), this.obs, el("h3", undefined, "Modules"), this.info, this.modules);
    store.subscribe((s, ch) => {
      if (s.tab !== "tips" || !s.runId) return;
      // A live run's figures are asked again when the tab is opened, not
      // every second under the reader (or a selection being copied).
      if (!(ch.has("tab") || ch.has("runId"))) return;
      const key = `${s.runId}|${s.dataVersion}`;
      if (key !== this.loaded) void this.load(s.runId, key);
    });
  }

  private async load(id: string, key: string): Promise<void> {
    this.loaded = key;
    const seq = ++this.seq;
    this.info.textContent = "loading the tips…";
    try {
      const t = (await api.tips(id)).body;
      if (seq === this.seq) this.render(t);
    } catch (e) {
      if (seq !== this.seq) return;
      this.loaded = "";
      this.obs.replaceChildren();
      this.modules.replaceChildren();
      this.info.replaceChildren(el("span", "error", `cannot load the tips: ${String(e)}`));
    }
  }

  render(t: TipsAnswer): void {
    this.obs.replaceChildren(...t.observations.map(observation));
    if (!t.observations.length) this.obs.append(el("li", "sub", "nothing remarkable: no GIL contention, slow import, anomalous call, leak or error was seen"));
    this.info.textContent = t.modules.length
      ? "The packages the time went to, by the longest of their functions' totals: documentation, and searches for performance questions and best practices."
      : "No module took measurable time.";
    this.modules.replaceChildren();
    if (t.modules.length) this.modules.append(moduleTable(t.modules));
  }
}

function observation(o: Observation): HTMLElement {
  const li = el("li", "observation");
  li.dataset.kind = o.kind;
  li.append(el("span", "obs-kind", KIND_TITLE[o.kind] ?? o.kind), el("span", "obs-text", o.text));
  if (o.url) li.append(" ", outLink("more", o.url));
  return li;
}

function moduleTable(mods: ModuleTip[]): HTMLTableElement {
  const t = el("table", "grid tips-modules");
  const head = el("tr");
  for (const [title, num] of [
    ["module", false],
    ["kind", false],
    ["share of the time", true],
    ["links", false],
  ] as const)
    head.append(el("th", num ? "num" : undefined, title));
  t.append(el("thead"), el("tbody"));
  t.tHead!.append(head);
  for (const m of mods) {
    const tr = el("tr");
    tr.dataset.module = m.module;
    const links = el("td", "links");
    m.links.forEach((l, i) => {
      if (i) links.append(" · ");
      links.append(outLink(l.title, l.url));
    });
    if (!m.links.length) links.append(el("span", "sub", m.kind === "program" ? "the program's own code" : "none"));
    tr.append(el("td", "mod", m.module), el("td", `kind ${m.kind}`, m.kind), el("td", "num", fmtPercent(m.share)), links);
    t.tBodies[0]!.append(tr);
  }
  return t;
}
