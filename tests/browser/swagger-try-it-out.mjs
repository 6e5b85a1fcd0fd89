// Swagger UI's "Try it out" in headless Chromium:
//   node tests/browser/swagger-try-it-out.mjs BASE_URL TAG OPERATION_ID
// Opens BASE_URL/docs, expands the operation, presses "Try it out" and "Execute", and
// prints the status and request URL the response panel shows as one JSON line. Exits
// non-zero if any step fails.
import { chromium } from "playwright-core";

const [base, tag, operation] = process.argv.slice(2);
if (!operation) {
  console.error("usage: swagger-try-it-out.mjs BASE_URL TAG OPERATION_ID");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  await page.goto(base + "/docs/");
  const block = page.locator(`#operations-${tag}-${operation}`);
  await block.locator(".opblock-summary").first().click({ timeout: 15000 });
  await block.locator("button.try-out__btn").click({ timeout: 10000 });
  await block.locator("button.execute").click({ timeout: 10000 });
  const status = block.locator(".live-responses-table .response .response-col_status");
  await status.first().waitFor({ timeout: 10000 });
  const shown = {
    status: (await status.first().textContent()).trim(),
    request_url: (await block.locator(".request-url pre").first().textContent()).trim(),
    server: await page.locator(".servers select, .servers").first().textContent().catch(() => ""),
  };
  console.log(JSON.stringify(shown));
} finally {
  await browser.close();
}
