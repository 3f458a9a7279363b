// Books through the real pages in headless Chromium: the booking page (/book), with an inline
// validation error first, and an article page on another origin that embeds the widget.
// Prints {"page_reference", "widget_reference"} as JSON on its last line.
//
// Env: BASE_URL (the app), ARTICLE_PORT (a free loopback port for the article page),
// SCREENSHOT_DIR (where to save PNGs), CHROMIUM (default /usr/bin/chromium).
import http from "node:http";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const articlePort = Number(process.env.ARTICLE_PORT);
const shots = process.env.SCREENSHOT_DIR || "target/screenshots";
mkdirSync(shots, { recursive: true });

const article = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>How stress causes back pain</title></head>
<body>
<article>
  <h1>How stress causes back pain, and what relieves it</h1>
  <p>Stress tightens muscles, changes posture and feeds inflammation: lower-back ache or
  upper-back tightness, often gradual and on-and-off.</p>
  <p>Schedule an appointment to start your journey toward a pain-free future.</p>
  <div data-clinic-booking data-source="stress-and-back-pain"></div>
  <script src="${base}/widget.js" async></script>
</article>
</body></html>`;

const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(article);
});
await new Promise((resolve) => server.listen(articlePort, "127.0.0.1", resolve));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const fail = async (message) => {
  await browser.close();
  server.close();
  console.error(message);
  process.exit(1);
};

try {
  // The booking page: choose a time, get an inline error from the API, fix it, book.
  const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
  await page.goto(`${base}/book`);
  await page.locator("button.slot").first().waitFor({ timeout: 15000 });
  await page.locator("button.slot").first().click();
  // The booking rules are on the form, before the patient books.
  await page.waitForFunction(() => document.getElementById("policy").textContent.includes("cancelled or moved online"), null, { timeout: 15000 });
  await page.fill("#name", "Ana Díaz");
  await page.fill("#email", "ana@");
  await page.fill("#phone", "+1 602 555 0134");
  await page.fill("#reason", "Lower-back pain that comes and goes");
  await page.click("#submit");
  const emailError = page.locator("#email-error");
  await page.waitForFunction(() => document.getElementById("email-error").textContent.length > 0, null, { timeout: 15000 });
  if ((await page.getAttribute("#email", "aria-invalid")) !== "true") await fail("email not marked invalid");
  const errorText = await emailError.textContent();
  await page.screenshot({ path: `${shots}/book-validation.png`, fullPage: true });
  await page.fill("#email", "ana.diaz@example.com");
  await page.click("#submit");
  await page.locator("#done").waitFor({ state: "visible", timeout: 15000 });
  const pageReference = (await page.textContent("#done-reference")).trim();
  await page.screenshot({ path: `${shots}/book-confirmed.png`, fullPage: true });

  // A fresh visit to the page, for the README: providers, a week of times, the form.
  const tour = await browser.newPage({ viewport: { width: 900, height: 1400 } });
  await tour.goto(`${base}/book`);
  await tour.locator("button.slot").first().waitFor({ timeout: 15000 });
  await tour.selectOption("#provider", { index: 2 });
  await tour.waitForFunction(() => document.querySelectorAll("button.slot").length > 0 &&
    !document.querySelector("button.slot").textContent.includes("·"), null, { timeout: 15000 });
  await tour.locator("button.slot").nth(3).click();
  await tour.fill("#name", "Ana Díaz");
  await tour.screenshot({ path: `${shots}/book.png`, fullPage: true });

  // The article on another origin, with the widget.
  const reader = await browser.newPage({ viewport: { width: 900, height: 1000 } });
  await reader.goto(`http://127.0.0.1:${articlePort}/stress-and-back-pain`);
  const times = reader.locator(".cb-widget button[data-slot-id]");
  await times.first().waitFor({ timeout: 15000 });
  await times.first().click();
  await reader.waitForFunction(() => (document.querySelector(".cb-widget .cb-policy") || {}).textContent?.includes("cancelled or moved online"), null, { timeout: 15000 });
  await reader.fill(".cb-widget input[name=name]", "Ben Okoro");
  await reader.fill(".cb-widget input[name=email]", "ben.okoro@example.com");
  await reader.click(".cb-widget button[type=submit]");
  await reader.locator(".cb-reference").waitFor({ timeout: 15000 });
  const widgetReference = (await reader.textContent(".cb-reference")).trim();
  await reader.screenshot({ path: `${shots}/widget.png`, fullPage: true });

  await browser.close();
  server.close();
  console.log(JSON.stringify({ page_reference: pageReference, widget_reference: widgetReference, email_error: errorText }));
} catch (error) {
  await fail(`browser test failed: ${error.stack || error}`);
}
