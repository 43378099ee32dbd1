// SPDX-License-Identifier: MIT
// Tiny DOM helpers: elements are made in code, never from HTML strings
// (except sanitized Markdown), and never with inline style attributes.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function button(text: string, cls: string, onClick: (e: MouseEvent) => void): HTMLButtonElement {
  const b = el("button", cls, text);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

/** Make `box` movable by dragging `handle`. */
export function draggable(box: HTMLElement, handle: HTMLElement): void {
  handle.addEventListener("pointerdown", (e) => {
    if ((e.target as HTMLElement).closest("button,a")) return;
    const r = box.getBoundingClientRect();
    const dx = e.clientX - r.left;
    const dy = e.clientY - r.top;
    handle.setPointerCapture(e.pointerId);
    const move = (m: PointerEvent) => {
      box.style.left = `${Math.max(0, m.clientX - dx)}px`;
      box.style.top = `${Math.max(0, m.clientY - dy)}px`;
    };
    const up = () => {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
    e.preventDefault();
  });
}

/** vscode://file/PATH:LINE:1, the link VS Code opens at a line. */
export function sourceLink(file: string, line: number): HTMLAnchorElement {
  const a = el("a", "src", `${file}:${line}`);
  a.href = `vscode://file${file.startsWith("/") ? "" : "/"}${file}:${line}:1`;
  return a;
}
