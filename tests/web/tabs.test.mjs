// SPDX-License-Identifier: MIT
// The Tips and Explanation tabs in headless chromium, against the real
// `microlog serve` over a recording of tests/web/sample_app.py: the tips
// are the API's, the prompt is GET /explain's and can be copied, and with a
// model set (a fake OpenAI-compatible endpoint on 127.0.0.1, started here)
// the answer is rendered sanitized, an endpoint error is one line, and the
// answer is cached. Screenshots go to build/screenshots/.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { page, serve, setup, shot } from "./harness.mjs";

const ANSWER = "## Hello\n**bold** <script>alert(1)</script>";

let env;
let p;
let run;

before(async () => {
  env = await setup({ gen: false });
  const runs = await env.api("/api/runs");
  const app = runs.labels.find((l) => l.label === "app");
  assert.ok(app, "the recorded program is listed");
  run = app.runs[0].id;
  p = await page(env);
  await p.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: env.url });
});

after(async () => {
  if (p) assert.deepEqual(p.problems, [], "no page errors or CSP violations");
  await env?.close();
});

test("the Tips tab lists the observations, then the modules with their links", async () => {
  const tips = await env.api(`/api/runs/${run}/tips`);
  assert.ok(tips.observations.length >= 1, "the recording gives an observation (its slow handle() call at least)");
  assert.ok(
    tips.modules.some((m) => m.links.length),
    "a module with links",
  );
  await p.goto(`${env.url}/#run=${run}&tab=tips`);
  await p.waitForSelector(".tips .observation");
  assert.equal(await p.locator('button.tab[data-tab="tips"]').getAttribute("class"), "tab active", "the deep link opens the Tips tab");
  const obs = p.locator(".tips .observation");
  assert.equal(await obs.count(), tips.observations.length);
  for (let i = 0; i < tips.observations.length; i++) {
    const o = tips.observations[i];
    assert.equal(await obs.nth(i).locator(".obs-text").textContent(), o.text);
    assert.equal(await obs.nth(i).getAttribute("data-kind"), o.kind);
    assert.equal(await obs.nth(i).locator("a").count(), o.url ? 1 : 0);
    if (o.url) assert.equal(await obs.nth(i).locator("a").getAttribute("href"), o.url);
  }
  // Observations come before the modules.
  const order = await p.evaluate(() => {
    const a = document.querySelector(".tips .observations");
    const b = document.querySelector(".tips table.tips-modules");
    return a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING;
  });
  assert.ok(order, "observations first");
  const rows = p.locator(".tips table.tips-modules tbody tr");
  assert.equal(await rows.count(), tips.modules.length);
  for (let i = 0; i < tips.modules.length; i++) {
    const m = tips.modules[i];
    const cells = await rows.nth(i).locator("td").allInnerTexts();
    assert.equal(cells[0], m.module);
    assert.equal(cells[1], m.kind);
    assert.match(cells[2], /^\d+(\.\d)?%$/);
    assert.ok(Math.abs(parseFloat(cells[2]) - m.share * 100) <= 0.5, `${m.module}: ${cells[2]} is ${m.share}`);
    const links = await rows
      .nth(i)
      .locator("a")
      .evaluateAll((as) => as.map((a) => ({ text: a.textContent, href: a.getAttribute("href"), target: a.target, rel: a.rel })));
    assert.deepEqual(
      links.map((l) => [l.text, l.href]),
      m.links.map((l) => [l.title, l.url]),
    );
    for (const l of links) {
      assert.equal(l.target, "_blank");
      assert.equal(l.rel, "noopener noreferrer");
    }
  }
  await shot(p, "14-tips-tab");
});

test("the Explanation tab without a model: how to set one, the prompt, Copy", async () => {
  const info = await env.api(`/api/runs/${run}/explain`);
  assert.equal(info.configured, false);
  // From another tab: the tab button, then the hash follows.
  await p.locator('button.tab[data-tab="explanation"]').click();
  await p.waitForFunction(() => document.querySelector(".explain pre.prompt")?.textContent.length > 0);
  assert.equal(await p.locator(".explain pre.prompt").textContent(), info.prompt, "the prompt is GET /explain's");
  await p.waitForFunction(() => location.hash.includes("tab=explanation"));
  const howto = await p.locator(".explain-model").innerText();
  for (const v of ["MICROLOG_LLM_URL", "MICROLOG_LLM_MODEL", "MICROLOG_LLM_KEY", "microlog serve"]) assert.ok(howto.includes(v), `the how-to names ${v}`);
  assert.ok(await p.locator("button.explain-ask").isDisabled(), "nothing to ask without a model");
  await shot(p, "15-explanation-unset");

  await p.locator("button.copy-prompt").click();
  await p.waitForFunction(() => document.querySelector("button.copy-prompt").dataset.copied);
  assert.equal(await p.locator("button.copy-prompt").getAttribute("data-copied"), "clipboard");
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), info.prompt, "the clipboard holds the prompt");

  // Without the clipboard API (a page served over plain http off loopback): the prompt is selected.
  await p.evaluate(() => {
    window.getSelection().removeAllRanges();
    Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined, configurable: true });
    delete document.querySelector("button.copy-prompt").dataset.copied;
  });
  await p.locator("button.copy-prompt").click();
  await p.waitForFunction(() => document.querySelector("button.copy-prompt").dataset.copied);
  assert.notEqual(await p.locator("button.copy-prompt").getAttribute("data-copied"), "clipboard");
  // (a selection's text drops the block's final newline)
  assert.equal((await p.evaluate(() => window.getSelection().toString())).trimEnd(), info.prompt.trimEnd(), "the whole prompt is selected");
});

/** A fake OpenAI-compatible endpoint: `mode` says how it answers; `requests` holds what it was sent. */
async function fakeModel() {
  const fake = { mode: "ok", delay: 0, requests: [] };
  const srv = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      fake.requests.push({ method: req.method, url: req.url, body, auth: req.headers.authorization ?? null });
      const send = (status, obj) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(obj));
      };
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") return send(404, { error: { message: "no such endpoint" } });
      if (fake.mode === "limit") return send(429, { error: { message: "Rate limit reached for test", type: "rate_limit" } });
      setTimeout(() => send(200, { choices: [{ message: { role: "assistant", content: ANSWER } }] }), fake.delay);
    });
  });
  await new Promise((ok) => srv.listen(0, "127.0.0.1", ok));
  fake.url = `http://127.0.0.1:${srv.address().port}/v1`;
  fake.close = () => new Promise((ok) => srv.close(ok));
  return fake;
}

test("the Explanation tab with a model: an error in one line, the sanitized answer, then the cache", async () => {
  const fake = await fakeModel();
  const server = await serve(env.dir, { MICROLOG_LLM_URL: fake.url, MICROLOG_LLM_MODEL: "test", MICROLOG_LLM_TIMEOUT: "20" });
  const q = await page(env);
  try {
    const info = await (await fetch(`${server.url}/api/runs/${run}/explain`)).json();
    assert.equal(info.configured, true);
    assert.equal(info.model, "test");
    assert.equal(info.answer, null);
    await q.goto(`${server.url}/#run=${run}&tab=explanation`);
    await q.waitForFunction(() => document.querySelector(".explain .model-name")?.textContent === "test");
    const ask = q.locator("button.explain-ask");
    await q.waitForFunction(() => !document.querySelector("button.explain-ask").disabled);
    assert.equal(await ask.textContent(), "Explain this run");

    // The endpoint refuses: one clear line, and the button can be tried again.
    fake.mode = "limit";
    await ask.click();
    await q.waitForSelector(".explain-error:not([hidden])");
    const err = await q.locator(".explain-error").textContent();
    assert.ok(!err.includes("\n") && err.length < 320, `one line: ${err}`);
    assert.match(err, /^The model's endpoint failed: .*(429|rate limit)/i);
    assert.ok(!(await ask.isDisabled()), "it can be asked again");
    await shot(q, "16-explanation-error");
    // The 502 of the refused endpoint was expected.
    q.problems = q.problems.filter((x) => !/^HTTP 502 .*\/explain$/.test(x));

    // The endpoint answers, slowly: the tab is busy meanwhile.
    fake.mode = "ok";
    fake.delay = 800;
    await ask.click();
    await q.waitForFunction(() => document.querySelector(".explain").classList.contains("busy"));
    assert.ok(await ask.isDisabled(), "no second request while waiting");
    assert.match(await q.locator(".explain-status").textContent(), /waiting for test/);
    await shot(q, "17-explanation-busy");
    await q.waitForSelector(".explain-answer:not([hidden]) h2");
    assert.equal(await q.locator(".explain-answer h2").textContent(), "Hello");
    assert.equal(await q.locator(".explain-answer strong").textContent(), "bold");
    assert.equal(await q.locator(".explain-answer script").count(), 0, "no script element");
    assert.equal(await q.locator("script").count(), 1, "only the page's own script");
    assert.ok((await q.locator(".explain-answer").innerText()).includes("<script>alert(1)</script>"), "raw HTML is shown as text");
    assert.ok(await q.locator(".explain-error").isHidden(), "the error is gone");
    assert.equal(await q.evaluate(() => document.querySelector(".explain").classList.contains("busy")), false);
    await shot(q, "18-explanation-answer");

    // What the endpoint was sent: the model, and the prompt of GET /explain.
    const asked = fake.requests.filter((r) => r.method === "POST");
    assert.equal(asked.length, 2, "asked once per click");
    const body = JSON.parse(asked[1].body);
    assert.equal(body.model, "test");
    assert.ok(
      body.messages.some((m) => m.content.includes(info.prompt.split("\n")[0])),
      "the prompt is in the messages",
    );

    // Cached: a POST does not ask the endpoint again, and GET tells the answer.
    const again = await fetch(`${server.url}/api/runs/${run}/explain`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    assert.equal(again.status, 200);
    const a = await again.json();
    assert.equal(a.cached, true);
    assert.equal(a.answer, ANSWER);
    assert.equal(fake.requests.length, 2, "the cached answer is not paid for twice");
    const got = await (await fetch(`${server.url}/api/runs/${run}/explain`)).json();
    assert.equal(got.answer, ANSWER);

    // A reopened tab shows the cached answer at once, without asking.
    await q.reload();
    await q.waitForSelector(".explain-answer:not([hidden]) h2");
    assert.ok(await q.locator("button.explain-ask").isHidden(), "nothing left to ask");
    assert.match(await q.locator(".explain-status").textContent(), /cached answer of test/);
    assert.equal(fake.requests.length, 2);
    assert.deepEqual(q.problems, []);
  } finally {
    await q.close();
    await server.stop();
    await fake.close();
  }
});
