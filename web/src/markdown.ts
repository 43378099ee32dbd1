// SPDX-License-Identifier: MIT
// Log messages as Markdown: markdown-it without raw HTML, then DOMPurify,
// and no link but http(s), mailto and vscode ones survives.

import DOMPurify from "dompurify";
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: true, breaks: true });
const SAFE_LINK = /^(https?:|mailto:|vscode:|#)/i;
md.validateLink = (url: string) => SAFE_LINK.test(url.trim());

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node instanceof HTMLAnchorElement) {
    const href = node.getAttribute("href") ?? "";
    if (!SAFE_LINK.test(href.trim())) node.removeAttribute("href");
    node.setAttribute("rel", "noopener noreferrer");
    node.setAttribute("target", "_blank");
  }
});

/** Sanitized HTML of a message. */
export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(md.render(text), { FORBID_TAGS: ["style", "img"], FORBID_ATTR: ["style"] });
}

export function setMarkdown(el: HTMLElement, text: string): void {
  el.innerHTML = renderMarkdown(text);
}
