// The migration page in headless Chromium, as a person reads it:
//   node tests/browser/migration-page.mjs ADMIN_URL PROXY_URL TOKEN ROUTE UPSTREAM SCREENSHOT
// Loads ADMIN_URL/admin/, gives the token it asks for, sends GETs to PROXY_URL/users/N and
// PROXY_URL/other/N until the page shows a request rate for ROUTE's side UPSTREAM, the
// shadow comparisons of ROUTE and a difference listed for the route `/`, reads the
// replication table (each side's feed and followers with their lag), takes a screenshot
// and prints what the page shows as one JSON line. Exits non-zero if any step
// fails.
import { chromium } from "playwright-core";

const [admin, proxy, token, route, upstream, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error("usage: migration-page.mjs ADMIN_URL PROXY_URL TOKEN ROUTE UPSTREAM SCREENSHOT");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
let traffic = true;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await page.goto(admin + "/admin/");
  // The page holds no data: it asks for the token first.
  await page.locator("#auth").waitFor({ state: "visible", timeout: 10000 });
  const asked = await page.locator("#status").textContent();
  await page.fill("#token", token);
  await page.click("#auth button");
  const row = page.locator(`tr[data-route="${route}"][data-upstream="${upstream}"]`);
  await row.waitFor({ timeout: 10000 });

  // Traffic while the page refreshes, until it shows a rate above zero for the side.
  const sending = (async () => {
    let n = 0;
    while (traffic) {
      n += 1;
      await fetch(`${proxy}/users/${n}`).then((r) => r.arrayBuffer()).catch(() => {});
      await fetch(`${proxy}/other/${n}`).then((r) => r.arrayBuffer()).catch(() => {});
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const rateCell = row.locator("td.rate");
  const deadline = Date.now() + 20000;
  let rate = NaN;
  while (Date.now() < deadline) {
    rate = parseFloat(await rateCell.textContent());
    if (rate > 0) break;
    await page.waitForTimeout(250);
  }
  // The shadow columns: the route's comparisons counted, and a difference listed for `/`.
  const equality = row.locator("td.shadow > span").first();
  const difference = page.locator('tr[data-route="/"] td.shadow ul.diffs li').first();
  while (Date.now() < deadline) {
    const text = (await equality.count()) ? await equality.textContent() : "";
    if (/^[0-9.]+% equal$/.test(text) && (await difference.count()) > 0) break;
    await page.waitForTimeout(250);
  }
  traffic = false;
  await sending;
  await page.locator("#replication").waitFor({ state: "visible", timeout: 10000 });

  const shown = {
    asked_for_token: asked,
    version: await page.locator("#version").textContent(),
    routes: await page.locator("tr[data-route]").evaluateAll((rows) =>
      [...new Set(rows.map((r) => r.getAttribute("data-route")))]),
    sides: await page.locator("tr[data-route]").evaluateAll((rows) =>
      rows.map((r) => r.getAttribute("data-route") + " " + r.getAttribute("data-upstream"))),
    rate: await rateCell.textContent(),
    errors: await row.locator("td.errors").textContent(),
    total: await row.locator("td.total").textContent(),
    rejected_hidden: await page.locator("#rejected").isHidden(),
    equality: (await equality.count()) ? await equality.textContent() : null,
    difference: (await difference.count()) ? await difference.textContent() : null,
    // One line per follower: its cells' texts, and whether the lag is marked.
    replication: await page.locator("#followers tr").evaluateAll((rows) => rows.map((r) => ({
      cells: [...r.querySelectorAll("td")].map((td) => td.textContent),
      lagging: r.querySelector("td.lag-seconds").classList.contains("bad"),
    }))),
    no_feed: await page.locator("#no-feed").textContent(),
  };
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify(shown));
} finally {
  traffic = false;
  await browser.close();
}
