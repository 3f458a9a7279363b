// Books through the real pages in headless Chromium: the booking page (/book), a 60-minute
// new-patient evaluation chosen first, with an inline validation error on the way, then moved
// from its manage link (confirmed in the page); a returning-patients type refused with the API's reason shown; and an
// article page on another origin that embeds the widget, booking a massage from its visit type
// choice. At each step axe-core checks the page (or the widget) against WCAG 2.2 A and AA.
// Prints what it saw as JSON on its last line (references, the texts shown, the times booked and
// moved to, the accessibility violations found and the steps checked).
//
// Env: BASE_URL (the app), ARTICLE_PORT (a free loopback port for the article page),
// SCREENSHOT_DIR (where to save PNGs), CHROMIUM (default /usr/bin/chromium).
import http from "node:http";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const articlePort = Number(process.env.ARTICLE_PORT);
const shots = process.env.SCREENSHOT_DIR || "target/screenshots";
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

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

// axe-core, evaluated through the driver (the page's Content-Security-Policy admits no script
// of ours), on the whole document or one part of it.
const violations = [];
const checked = [];
const checkAccessibility = async (page, step, selector) => {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async (part) => {
    const result = await window.axe.run(part || document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    });
    return result.violations.map((v) => ({ rule: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  }, selector || null);
  found.forEach((v) => violations.push({ step, ...v }));
  checked.push(step);
};

const focusedId = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

try {
  // The booking page: the visit type first, then only times where it fits, an inline error
  // from the API, fixed, booked.
  const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto(`${base}/book`);
  const evaluation = page.getByRole("radio", { name: /New-patient evaluation/ });
  await evaluation.waitFor({ timeout: 15000 });
  // Returning-patient types are listed apart, under their own legend.
  const returningLegend = (await page.textContent("#visit-returning legend")).trim();
  if (!(await page.locator("#visit-returning").getByRole("radio", { name: /Follow-up visit/ }).count())) {
    await fail("the follow-up visit is not under the returning-patient group");
  }
  await checkAccessibility(page, "visit types");
  await evaluation.check();
  const slotsAsked = page.waitForRequest((r) => r.url().includes("/api/v1/slots?"));
  await page.click("#visit-continue");
  const slotsUrl = new URL((await slotsAsked).url());
  if (!slotsUrl.searchParams.get("visit_type_id")) await fail(`times asked without the visit type: ${slotsUrl}`);
  if ((await focusedId(page)) !== "choose-title") await fail("focus did not move to the times");
  const providers = await page.$$eval("#provider option", (options) => options.map((o) => o.textContent));
  await page.locator("button.slot").first().waitFor({ timeout: 15000 });
  // Next week's first time: the visit is moved later on, which the rules allow only until 24
  // hours before it starts (this week's first time may be sooner, whatever the time of day).
  const nextWeek = page.waitForResponse((r) => r.url().includes("/api/v1/slots?"));
  await page.click("#next-week");
  await nextWeek;
  await page.locator("button.slot").first().waitFor({ timeout: 15000 });
  const held = page.waitForResponse((r) => r.url().endsWith("/api/v1/holds") && r.request().method() === "POST");
  await page.locator("button.slot").first().click();
  // The time is held while the patient types, with a countdown.
  const hold = await (await held).json();
  await page.locator("#hold").waitFor({ state: "visible", timeout: 15000 });
  await page.waitForFunction(() => /^\d:\d\d$/.test(document.getElementById("hold-timer").textContent), null, { timeout: 15000 });
  const holdTimer = (await page.textContent("#hold-timer")).trim();
  // The booking rules are on the form, before the patient books.
  await page.waitForFunction(() => document.getElementById("policy").textContent.includes("cancelled or moved online"), null, { timeout: 15000 });
  const chosenText = (await page.textContent("#chosen")).trim();
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
  await checkAccessibility(page, "times and details, with an error");
  await page.fill("#email", "ana.diaz@example.com");
  const booked = page.waitForResponse((r) => r.url().endsWith("/api/v1/bookings") && r.request().method() === "POST");
  await page.click("#submit");
  const bookedResponse = await booked;
  const bookedWithHold = JSON.parse(bookedResponse.request().postData() || "{}").hold_token === hold.token;
  const booking = await bookedResponse.json();
  await page.locator("#done").waitFor({ state: "visible", timeout: 15000 });
  if ((await focusedId(page)) !== "title") await fail("focus did not move to the confirmation");
  const pageReference = (await page.textContent("#done-reference")).trim();
  const doneVisitType = (await page.textContent("#done-visit-type")).trim();
  const doneText = (await page.textContent("#done-details")).trim();
  await page.screenshot({ path: `${shots}/book-confirmed.png`, fullPage: true });
  await checkAccessibility(page, "confirmation");

  // The confirmation's manage link: the booking with its visit type, moved to another time,
  // offered only where a visit of its type fits.
  await page.goto(`${base}/book?reference=${encodeURIComponent(booking.reference)}&token=${encodeURIComponent(booking.manage_token)}`);
  await page.locator("#manage-details dd").first().waitFor({ timeout: 15000 });
  const manageText = (await page.textContent("#manage-details")).trim();
  const moveAsked = page.waitForRequest((r) => r.url().includes("/api/v1/slots?"));
  await page.click("#manage-reschedule");
  const moveUrl = new URL((await moveAsked).url());
  await page.locator("button.slot").nth(1).waitFor({ timeout: 15000 });
  await checkAccessibility(page, "manage: new times");
  const moved = page.waitForResponse((r) => r.url().endsWith("/reschedule"));
  await page.locator("button.slot").nth(1).click();
  // The page asks before it moves the visit.
  await page.locator("#move-confirm").waitFor({ state: "visible", timeout: 15000 });
  await page.click("#move-yes");
  const movedBooking = await (await moved).json();
  await page.waitForFunction(() => document.getElementById("choose").hidden, null, { timeout: 15000 });
  const managedText = (await page.textContent("#manage-details")).trim();
  await page.screenshot({ path: `${shots}/book-moved.png`, fullPage: true });
  await checkAccessibility(page, "manage: moved");

  // A returning-patients type, asked for by an address the clinic has not seen: the page says
  // why the API refused it, where the patient is looking.
  const returning = await browser.newPage({ viewport: { width: 900, height: 1100 } });
  await returning.goto(`${base}/book`);
  await returning.getByRole("radio", { name: /Follow-up visit/ }).check();
  await returning.click("#visit-continue");
  await returning.locator("button.slot").first().waitFor({ timeout: 15000 });
  await returning.locator("button.slot").first().click();
  await returning.fill("#name", "Cleo Marsh");
  await returning.fill("#email", "cleo.marsh@example.com");
  await returning.click("#submit");
  await returning.waitForFunction(() => document.getElementById("form-error").textContent.length > 0, null, { timeout: 15000 });
  const returningError = (await returning.textContent("#form-error")).trim();
  if ((await focusedId(returning)) !== "form-error") await fail("focus did not move to the refusal");
  await returning.screenshot({ path: `${shots}/book-returning.png`, fullPage: true });
  await checkAccessibility(returning, "returning-patient refusal");

  // A fresh visit to the page, for the README: the visit type chosen, a week of times, the form.
  const tour = await browser.newPage({ viewport: { width: 900, height: 1600 } });
  await tour.goto(`${base}/book`);
  await tour.getByRole("radio", { name: /Therapeutic massage/ }).check();
  await tour.click("#visit-continue");
  await tour.locator("button.slot").nth(3).waitFor({ timeout: 15000 });
  await tour.locator("button.slot").nth(3).click();
  await tour.fill("#name", "Ana Díaz");
  await tour.screenshot({ path: `${shots}/book.png`, fullPage: true });

  // The article on another origin, with the widget.
  const reader = await browser.newPage({ viewport: { width: 900, height: 1000 } });
  await reader.goto(`http://127.0.0.1:${articlePort}/stress-and-back-pain`);
  const times = reader.locator(".cb-widget button[data-slot-id]");
  await times.first().waitFor({ timeout: 15000 });
  const offerAsked = reader.waitForRequest((r) => r.url().includes("/api/v1/schedule-appointment?"));
  const massage = await reader.$eval(".cb-widget select", (select) =>
    Array.from(select.options).find((o) => o.textContent.includes("Therapeutic massage")).value);
  await reader.getByLabel("Visit type").selectOption(massage);
  const offerUrl = new URL((await offerAsked).url());
  if (!offerUrl.searchParams.get("visit_type_id")) await fail(`widget offer asked without the visit type: ${offerUrl}`);
  await reader.waitForFunction(() => document.querySelector(".cb-widget button[data-slot-id]") &&
    document.querySelector(".cb-widget button[data-slot-id]").textContent.includes("Grace Okafor"), null, { timeout: 15000 });
  await checkAccessibility(reader, "widget: times", ".cb-widget");
  await times.first().click();
  await reader.waitForFunction(() => (document.querySelector(".cb-widget .cb-policy") || {}).textContent?.includes("cancelled or moved online"), null, { timeout: 15000 });
  await reader.fill(".cb-widget input[name=name]", "Ben Okoro");
  await reader.fill(".cb-widget input[name=email]", "ben.okoro@example.com");
  await reader.waitForFunction(() => /left/.test((document.querySelector(".cb-widget .cb-hold") || {}).textContent || ""), null, { timeout: 15000 });
  const widgetHoldText = (await reader.textContent(".cb-widget .cb-hold")).trim();
  const widgetBooked = reader.waitForRequest((r) => r.url().endsWith("/api/v1/bookings") && r.method() === "POST");
  await reader.click(".cb-widget button[type=submit]");
  const widgetBookedWithHold = Boolean(JSON.parse((await widgetBooked).postData() || "{}").hold_token);
  await reader.locator(".cb-reference").waitFor({ timeout: 15000 });
  const widgetReference = (await reader.textContent(".cb-reference")).trim();
  await reader.screenshot({ path: `${shots}/widget.png`, fullPage: true });
  await checkAccessibility(reader, "widget: booked", ".cb-widget");

  await browser.close();
  server.close();
  console.log(JSON.stringify({
    page_reference: pageReference,
    widget_reference: widgetReference,
    email_error: errorText,
    returning_legend: returningLegend,
    returning_error: returningError,
    providers,
    chosen_text: chosenText,
    hold_token: hold.token,
    hold_timer: holdTimer,
    booked_with_hold: bookedWithHold,
    widget_hold_text: widgetHoldText,
    widget_booked_with_hold: widgetBookedWithHold,
    done_visit_type: doneVisitType,
    done_text: doneText,
    booked_start: booking.slot.start,
    manage_text: manageText,
    move_visit_type_id: moveUrl.searchParams.get("visit_type_id"),
    moved_start: movedBooking.slot.start,
    managed_text: managedText,
    accessibility_violations: violations,
    accessibility_checked: checked,
  }));
} catch (error) {
  await fail(`browser test failed: ${error.stack || error}`);
}
