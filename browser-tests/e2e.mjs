// The history browser end to end, as an operator uses it, in headless
// Chromium: recent changes, a filter by user, an object's timeline, the diff
// of two versions read off the page, a revert with a reason, and the new
// `~` record and the restored values in the page and in the database (read
// back through the example service's own API). Every page is audited with
// axe-core (WCAG 2 A and AA rules); a serious or critical finding fails the
// run. Screenshots of each page go to SCREENSHOTS.
//
//   node e2e.mjs http://127.0.0.1:3000 ../docs/browser
//
// The service must run with --sample-data, on an empty database.

import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [origin, screenshots] = process.argv.slice(2);
if (!origin || !screenshots) {
  console.error("usage: node e2e.mjs ORIGIN SCREENSHOT_DIR");
  process.exit(2);
}
const base = `${origin}/admin/history`;
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
mkdirSync(screenshots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(`e2e: ${message}`);
}

const audited = [];

/** Runs axe-core on the page; fails on serious or critical violations. */
async function audit(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of result.violations) {
    console.log(`axe ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes)`);
  }
  check(serious.length === 0, `${name}: serious accessibility findings: ${serious.map((v) => v.id).join(", ")}`);
  audited.push(`${name}: ${result.passes.length} rules passed, ${result.violations.length} minor findings`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** The text of each cell of the table's body rows. */
async function rows(page) {
  return page.$$eval("main table tbody tr", (trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.innerText.trim())),
  );
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });

  // The models, then the recent changes, newest first.
  await page.goto(base);
  check((await page.title()) === "Models · Orders history", `index title ${await page.title()}`);
  await audit(page, "models");
  await shot(page, "models");

  await page.getByRole("link", { name: "Recent changes" }).click();
  let changes = await rows(page);
  check(changes.length === 9, `9 changes in the sample data, saw ${changes.length}`);
  check(changes[0][5] === "cancelled by the customer", `newest change first: ${changes[0]}`);
  await audit(page, "changes");
  await shot(page, "changes");

  // Filter by a user, with the keyboard: the form submits on Enter.
  await page.getByLabel("User").fill("9");
  await page.getByLabel("User").press("Enter");
  await page.waitForURL(/user=9/);
  changes = await rows(page);
  check(
    JSON.stringify(changes.map((row) => [row[2], row[4], row[5]])) ===
      JSON.stringify([
        ["2", "9", "customer renamed"],
        ["1", "9", "shipped with DHL"],
      ]),
    `user 9's changes: ${JSON.stringify(changes)}`,
  );
  await shot(page, "changes-by-user");

  // Order 1's timeline: created, paid, shipped.
  await page.getByRole("link", { name: "1", exact: true }).click();
  await page.waitForURL(/\/orders\/1$/);
  const timeline = await rows(page);
  check(
    JSON.stringify(timeline.map((row) => row[3])) ===
      JSON.stringify(["shipped with DHL", "paid by card", "checkout"]),
    `order 1's timeline: ${JSON.stringify(timeline)}`,
  );
  await audit(page, "timeline");
  await shot(page, "timeline");

  // Compare the newest version with the first (the form's defaults).
  await page.getByRole("button", { name: "Compare" }).click();
  await page.waitForURL(/compare\?record=/);
  const status = await page.$$eval('tr[data-field="status"] td', (tds) => tds.map((td) => td.innerText.trim()));
  check(JSON.stringify(status) === JSON.stringify(["new", "shipped"]), `status diff ${JSON.stringify(status)}`);
  const changedRows = await page.$$eval("tr.changed", (trs) => trs.map((tr) => tr.dataset.field));
  check(JSON.stringify(changedRows) === JSON.stringify(["status"]), `changed fields ${JSON.stringify(changedRows)}`);
  await audit(page, "diff");
  await shot(page, "diff");

  // Revert to the first version, with a reason.
  await page.getByRole("link", { name: "Timeline of orders 1" }).click();
  const firstRecord = page.getByRole("link", { name: /^Record / }).last();
  await firstRecord.click();
  await page.getByLabel("Reason (required)").fill("back to the original order");
  await audit(page, "record");
  await shot(page, "record");
  await page.getByRole("button", { name: /^Revert to record/ }).click();
  await page.waitForURL(/\/orders\/1$/);
  const after = await rows(page);
  check(after.length === 4, `a fourth record after the revert: ${JSON.stringify(after)}`);
  check(after[0][1].startsWith("~"), `the revert is a ~ record: ${after[0]}`);
  check(after[0][2] === "1" && after[0][3] === "back to the original order", `the revert's user and reason: ${after[0]}`);
  await shot(page, "after-revert");

  // The newest record shows the restored values, and the row is restored.
  await page.getByRole("link", { name: /^Record / }).first().click();
  const restored = await page.$$eval('tr[data-field="status"] td', (tds) => tds.map((td) => td.innerText.trim()));
  check(JSON.stringify(restored) === JSON.stringify(["shipped", "new"]), `restored status ${JSON.stringify(restored)}`);
  const live = await (await fetch(`${origin}/orders/1`)).json();
  check(live.status === "new" && live.customer === "Ada" && live.total === 12.5, `the live row ${JSON.stringify(live)}`);
  const api = await (await fetch(`${base}/api/orders/1`)).json();
  check(api.records[0].history_type === "~" && api.records[0].history_user_id === 1, `the API's newest record`);

  console.log("e2e: passed");
  for (const line of audited) console.log(`axe ${line}`);
} finally {
  await browser.close();
}
