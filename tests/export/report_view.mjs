// SPDX-License-Identifier: MIT
// Opens a `microlog report` HTML page from disk in Debian's headless
// chromium with the network refused, takes a full-page screenshot and
// prints as JSON what the page shows: requests it tried, its charts'
// titles and sizes, and the text of its tables by id. Used by
// test_report.py.
//
//     node report_view.mjs PAGE.html SCREENSHOT.png
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const { chromium } = createRequire(join(HERE, "..", "..", "web/package.json"))(
  "playwright-core",
);
const [page_path, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.ML_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu"],
});
const out = { requests: [], errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const url = pathToFileURL(resolve(page_path)).href;
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (u !== url) {
      out.requests.push(u);
      return route.abort();
    }
    return route.continue();
  });
  page.on("pageerror", (e) => out.errors.push(e.message));
  await page.goto(url);
  out.charts = await page.evaluate(() =>
    [...document.querySelectorAll("svg.chart")].map((s) => {
      const r = s.getBoundingClientRect();
      return {
        title: s.querySelector("title")?.textContent ?? "",
        width: r.width,
        height: r.height,
        marks: s.querySelectorAll("rect, circle, polyline, line").length,
      };
    }),
  );
  out.tables = await page.evaluate(() => {
    const t = {};
    for (const table of document.querySelectorAll("table[id]")) {
      t[table.id] = [...table.querySelectorAll("tr")].map((tr) =>
        [...tr.children].map((c) => c.textContent.trim()),
      );
    }
    return t;
  });
  out.errors_shown = await page.evaluate(() =>
    [...document.querySelectorAll("#errors pre")].map((p) => p.textContent),
  );
  await page.screenshot({ path: shot, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
