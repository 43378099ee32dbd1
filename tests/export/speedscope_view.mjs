// SPDX-License-Identifier: MIT
// Opens a speedscope file in the speedscope viewer (the npm package's own
// build, served from node_modules on 127.0.0.1) in Debian's headless
// chromium, and prints as JSON what the viewer shows: the profile names
// and, from its Sandwich view, the table of functions with their total
// and self time. It also checks the file against the file-format schema
// the package ships. Used by test_speedscope.py.
//
//     node speedscope_view.mjs FILE.speedscope.json [SCREENSHOT.png]
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, extname } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const require = createRequire(join(HERE, "package.json"));
const { chromium } = createRequire(join(ROOT, "web/package.json"))(
  "playwright-core",
);
const Ajv = require("ajv");
const RELEASE = join(dirname(require.resolve("speedscope/package.json")), "dist/release");

const [file, shot] = process.argv.slice(2);
const profile = readFileSync(file);

const schema = JSON.parse(readFileSync(join(RELEASE, "file-format-schema.json")));
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
const valid = validate(JSON.parse(profile));

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm", ".png": "image/png" };
const server = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  try {
    const body = path === "/profile.json" ? profile : readFileSync(join(RELEASE, path === "/" ? "index.html" : path.replace(/\.\./g, "")));
    res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.ML_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu"],
});
const out = { valid, errors: validate.errors ?? [], console: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("console", (m) => out.console.push(m.text()));
  page.on("pageerror", (e) => out.console.push(`pageerror: ${e.message}`));
  await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(base + "/profile.json")}`);
  await page.getByText("Sandwich").waitFor({ timeout: 20000 });
  // The toolbar's middle names the profile shown, "NAME (i/n)".
  out.toolbar = await page.evaluate(() => document.body.innerText.split("\n").slice(0, 8));
  if (shot) {
    await page.screenshot({ path: shot.replace(/\.png$/, "-timeline.png") });
  }
  await page.getByText("Sandwich").click();
  await page.getByText("Symbol Name").waitFor({ timeout: 10000 });
  if (shot) {
    await page.screenshot({ path: shot });
  }
  out.table = await page.evaluate(() => {
    const rows = [];
    for (const tr of document.querySelectorAll("tr")) {
      const cells = [...tr.querySelectorAll("td")].map((td) => td.innerText.trim());
      if (cells.length >= 3) {
        rows.push(cells);
      }
    }
    return rows;
  });
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(out));
