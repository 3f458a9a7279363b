// The patient's side in headless Chromium, as issue 22 asks: the booking page, the manage view
// and the widget in every state (initial, time chosen, validation error, booked, rescheduled,
// cancelled, bad link), checked by axe-core against WCAG 2.2 A and AA at 1280×800 and 390×844;
// a booking, a move and a cancellation with the keyboard alone, with where the focus lands after
// each step; a booking in Spanish from the page's switch; no sideways scrolling at 320 px; every
// control at least 44×44 px; screenshots of the phone flow. Prints what it saw as JSON on its
// last line.
//
// Env: BASE_URL (the app), ARTICLE_PORT (a free loopback port for an article with the widget),
// WIDGET_PROVIDER_ID (the provider the article's widget books with), SCREENSHOT_DIR (where to save PNGs), CHROMIUM (default /usr/bin/chromium).
import http from "node:http";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const articlePort = Number(process.env.ARTICLE_PORT);
const shots = process.env.SCREENSHOT_DIR || "target/screenshots";
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const TIMEOUT = { timeout: 15000 };

const article = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Massage for neck tension</title></head>
<body style="margin:0;padding:8px">
<main>
  <h1>Massage for neck tension</h1>
  <p>Tight neck muscles often ease with a few sessions of therapeutic massage.</p>
  <div data-clinic-booking data-source="massage-for-neck-tension" data-provider-id="${process.env.WIDGET_PROVIDER_ID}"></div>
  <script src="${base}/widget.js" async></script>
</main>
</body></html>`;
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(article);
});
await new Promise((resolve) => server.listen(articlePort, "127.0.0.1", resolve));
const articleUrl = `http://127.0.0.1:${articlePort}/massage-for-neck-tension`;

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
const expect = async (condition, message) => { if (!condition) await fail(message); };

const VIEWPORTS = { desktop: { width: 1280, height: 800 }, mobile: { width: 390, height: 844 } };
const violations = [];
const checked = [];
const pageErrors = [];
const checkAccessibility = async (page, step, selector) => {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async (part) => {
    const result = await window.axe.run(part || document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    });
    return result.violations.map((v) => ({ rule: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  }, selector || null);
  found.forEach((v) => violations.push({ step, ...v }));
  checked.push({ step, violations: found.length });
};

// Controls smaller than 44×44 px (radio buttons and checkboxes excepted: their labels are the
// targets), and whether the page scrolls sideways.
const layoutProblems = (page, scope) => page.evaluate((selector) => {
  const root = selector ? document.querySelector(selector) : document;
  const small = [];
  root.querySelectorAll("button, select, input:not([type=radio]):not([type=checkbox]), textarea, a.button, a.cb-button").forEach((node) => {
    const box = node.getBoundingClientRect();
    if (!box.width || !box.height || node.closest(".trap, .cb-trap")) return;
    if (box.width < 44 || box.height < 44) small.push(`${node.id || node.textContent.trim().slice(0, 30)}: ${Math.round(box.width)}×${Math.round(box.height)}`);
  });
  return { small, sideways: document.documentElement.scrollWidth > window.innerWidth };
}, scope || null);

const focused = (page) => page.evaluate(() => {
  const node = document.activeElement;
  if (!node || node === document.body) return "body";
  // The widget names its parts by `data-key` (its ids carry a per-widget prefix).
  return node.getAttribute("data-key") || node.id ||
    node.getAttribute("data-slot-id") && `slot:${node.getAttribute("data-slot-id")}` ||
    node.getAttribute("data-day") && `day:${node.getAttribute("data-day")}` || node.tagName;
});
const text = async (page, selector) => ((await page.textContent(selector)) || "").trim();
const newPage = async (viewport, locale) => {
  const context = await browser.newContext({ viewport, locale: locale || "en-US", acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  // Script errors and refused resources (the CSP's); an API's 4xx shows as a failed load, which
  // the pages expect (a bad link's 401).
  page.on("console", (message) => {
    if (message.type() === "error" && !/Failed to load resource/.test(message.text())) pageErrors.push(message.text());
  });
  return page;
};

// To the times of next week (so that the visit can still be moved and cancelled online).
const toNextWeek = async (page) => {
  const week = page.waitForResponse((r) => r.url().includes("/api/v1/slots?"));
  await page.click("#next-week");
  await week;
  await page.locator("button.slot").first().waitFor(TIMEOUT);
};

const smallTargets = [];
const sideways = [];
const noteLayout = async (page, step, scope) => {
  const found = await layoutProblems(page, scope);
  if (found.small.length) smallTargets.push({ step, small: found.small });
  if (found.sideways) sideways.push(step);
};

const result = { flows: {} };

try {
  // Every state of the page, the manage view and the widget, on a desktop and a phone --------------
  for (const [name, viewport] of Object.entries(VIEWPORTS)) {
    const flow = {};
    const page = await newPage(viewport);
    const shot = async (file) => { if (name === "mobile") await page.screenshot({ path: `${shots}/${file}` }); };
    await page.goto(`${base}/book`);
    await page.getByRole("radio", { name: /New-patient evaluation/ }).waitFor(TIMEOUT);
    await checkAccessibility(page, `${name}: book, initial`);
    await noteLayout(page, `${name}: book, initial`);
    await shot("mobile-1-visit.png");
    await page.getByRole("radio", { name: /New-patient evaluation/ }).check();
    await page.click("#visit-continue");
    await page.locator("button.slot").first().waitFor(TIMEOUT);
    await toNextWeek(page);
    flow.times_on_day = await page.locator("button.slot").count();
    flow.times_title = await text(page, "#times-title");
    flow.first_time_name = await page.locator("button.slot").first().evaluate((b) => b.textContent);
    await shot("mobile-2-times.png");
    await page.locator("button.slot").first().click();
    await page.locator("#hold").waitFor({ state: "visible", ...TIMEOUT });
    flow.focus_after_time = await focused(page);
    flow.chosen = await text(page, "#chosen");
    await checkAccessibility(page, `${name}: book, time chosen`);
    await noteLayout(page, `${name}: book, time chosen`);
    // Two fields wrong: the first in the form's order takes the focus, the summary names both.
    await page.fill("#email", "ana@");
    await page.click("#submit");
    await page.waitForFunction(() => document.getElementById("error-summary").textContent.length > 0, null, TIMEOUT);
    flow.focus_after_errors = await focused(page);
    flow.error_summary = await text(page, "#error-summary");
    flow.email_invalid = await page.getAttribute("#email", "aria-invalid");
    flow.email_border = await page.$eval("#email", (input) => getComputedStyle(input).borderTopColor);
    await shot("mobile-3-errors.png");
    await checkAccessibility(page, `${name}: book, validation error`);
    // The chosen time stays in view while the patient scrolls through the form.
    await page.locator("#submit").scrollIntoViewIfNeeded();
    flow.summary_in_view = await page.$eval("#summary", (node) => {
      const box = node.getBoundingClientRect();
      return box.top >= 0 && box.bottom <= window.innerHeight;
    });
    await page.fill("#name", `Ana ${name}`);
    await page.fill("#email", `ana.${name}@example.com`);
    const booked = page.waitForResponse((r) => r.url().endsWith("/api/v1/bookings") && r.request().method() === "POST");
    await page.click("#submit");
    const bookedResponse = await booked;
    const booking = await bookedResponse.json();
    flow.booked_language = (JSON.parse(bookedResponse.request().postData() || "{}").patient || {}).language;
    await page.locator("#done").waitFor({ state: "visible", ...TIMEOUT });
    flow.focus_after_booking = await focused(page);
    flow.booked_title = await text(page, "#title");
    flow.booked_details = await text(page, "#done-details");
    flow.lead_hidden = await page.isHidden("#lead");
    flow.manage_href = await page.getAttribute("#done-manage", "href");
    await shot("mobile-4-booked.png");
    await checkAccessibility(page, `${name}: book, booked`);
    await noteLayout(page, `${name}: book, booked`);
    // The calendar file, fetched with the manage token.
    const download = page.waitForEvent("download", { timeout: 10000 }).catch(() => null);
    await page.click("#done-calendar");
    const file = await download;
    if (file) {
      flow.calendar_file = file.suggestedFilename();
      const path = await file.path();
      flow.calendar_body = path ? readFileSync(path, "utf8").slice(0, 200) : "";
    } else {
      flow.calendar_file = null;
      flow.calendar_error = await text(page, "#done-calendar-error");
    }

    // The manage link: moved, then cancelled, each confirmed in the page and announced.
    await page.goto(`${base}${flow.manage_href}`);
    await page.locator("#manage-details dd").first().waitFor(TIMEOUT);
    await checkAccessibility(page, `${name}: manage, initial`);
    await noteLayout(page, `${name}: manage, initial`);
    await page.click("#manage-reschedule");
    await page.locator("button.slot").first().waitFor(TIMEOUT);
    await toNextWeek(page);
    await page.locator("button.slot").nth(1).click();
    await page.locator("#move-confirm").waitFor({ state: "visible", ...TIMEOUT });
    flow.focus_on_move_question = await focused(page);
    await checkAccessibility(page, `${name}: manage, time chosen`);
    const moved = page.waitForResponse((r) => r.url().endsWith("/reschedule"));
    await page.click("#move-yes");
    flow.moved_status = (await moved).status();
    await page.waitForFunction(() => document.getElementById("status").textContent.length > 0, null, TIMEOUT);
    flow.focus_after_move = await focused(page);
    flow.moved_message = await text(page, "#status");
    await shot("mobile-5-moved.png");
    await checkAccessibility(page, `${name}: manage, rescheduled`);
    await page.click("#manage-cancel");
    flow.focus_on_cancel_question = await focused(page);
    flow.cancel_question = await text(page, "#cancel-question");
    await checkAccessibility(page, `${name}: manage, confirm cancel`);
    await page.click("#cancel-yes");
    await page.waitForFunction(() => /cancel/i.test(document.getElementById("status").textContent), null, TIMEOUT);
    flow.focus_after_cancel = await focused(page);
    flow.cancelled_message = await text(page, "#status");
    flow.cancelled_help = await text(page, "#help-text");
    flow.book_again = await page.getAttribute("#help-book", "href");
    flow.call_href = await page.getAttribute("#help-call", "href");
    await shot("mobile-6-cancelled.png");
    await checkAccessibility(page, `${name}: manage, cancelled`);
    await noteLayout(page, `${name}: manage, cancelled`);

    // A link that opens nothing.
    await page.goto(`${base}/book?reference=BK-NOTAREAL1&token=expired.or.forged`);
    await page.waitForFunction(() => document.getElementById("problem").textContent.length > 0, null, TIMEOUT);
    flow.focus_on_bad_link = await focused(page);
    flow.bad_link = `${await text(page, "#problem")} ${await text(page, "#help-text")}`;
    flow.bad_link_call = await page.getAttribute("#help-call", "href");
    await shot("mobile-7-bad-link.png");
    await checkAccessibility(page, `${name}: manage, bad link`);
    await noteLayout(page, `${name}: manage, bad link`);

    // The widget, in an article on another origin.
    const reader = await newPage(viewport);
    await reader.goto(articleUrl);
    const times = reader.locator(".cb-widget button[data-slot-id]");
    await times.first().waitFor(TIMEOUT);
    flow.widget_more = await reader.getAttribute(".cb-widget .cb-more", "href");
    await checkAccessibility(reader, `${name}: widget, initial`, ".cb-widget");
    await noteLayout(reader, `${name}: widget, initial`, ".cb-widget");
    await times.first().click();
    await reader.locator(".cb-widget input[name=name]").waitFor(TIMEOUT);
    flow.widget_focus_after_time = await focused(reader);
    await checkAccessibility(reader, `${name}: widget, time chosen`, ".cb-widget");
    await reader.fill(".cb-widget input[name=email]", "ben@");
    await reader.click(".cb-widget button[type=submit]");
    await reader.waitForFunction(() => document.querySelector(".cb-widget .cb-summary").textContent.length > 0, null, TIMEOUT);
    flow.widget_focus_after_errors = await focused(reader);
    flow.widget_email_invalid = await reader.getAttribute(".cb-widget input[name=email]", "aria-invalid");
    flow.widget_email_border = await reader.$eval(".cb-widget input[name=email]", (input) => getComputedStyle(input).borderTopColor);
    await checkAccessibility(reader, `${name}: widget, validation error`, ".cb-widget");
    await reader.fill(".cb-widget input[name=name]", `Ben ${name}`);
    await reader.fill(".cb-widget input[name=email]", `ben.${name}@example.com`);
    await reader.click(".cb-widget button[type=submit]");
    await reader.locator(".cb-widget .cb-reference").waitFor(TIMEOUT);
    flow.widget_focus_after_booking = await focused(reader);
    flow.widget_booked = await text(reader, ".cb-widget");
    flow.widget_reference = await text(reader, ".cb-widget .cb-reference");
    if (name === "mobile") await reader.screenshot({ path: `${shots}/mobile-8-widget.png` });
    await checkAccessibility(reader, `${name}: widget, booked`, ".cb-widget");
    await noteLayout(reader, `${name}: widget, booked`, ".cb-widget");
    flow.reference = booking.reference;
    result.flows[name] = flow;
    await page.context().close();
    await reader.context().close();
  }

  // The keyboard alone: book, move, cancel ---------------------------------------------------------
  {
    const k = {};
    const page = await newPage(VIEWPORTS.desktop);
    const press = async (key, times = 1) => { for (let i = 0; i < times; i += 1) await page.keyboard.press(key); };
    // Tab until `test` holds for the focused element (at most 40 presses).
    const tabTo = async (what, test, key = "Tab") => {
      for (let i = 0; i < 40; i += 1) {
        await page.keyboard.press(key);
        if (await page.evaluate(test)) return;
      }
      await fail(`keyboard: Tab never reached ${what} (at ${await focused(page)})`);
    };
    await page.goto(`${base}/book`);
    await page.getByRole("radio", { name: /New-patient evaluation/ }).waitFor(TIMEOUT);
    await tabTo("a visit type", () => document.activeElement.name === "visit_type");
    k.first_radio = await focused(page);
    await press("Space");
    await press("Tab");
    k.after_radio_tab = await focused(page);
    await press("Enter");
    await page.locator("button.slot").first().waitFor(TIMEOUT);
    k.after_see_times = await focused(page);
    await tabTo("next week", () => document.activeElement.id === "next-week");
    await press("Enter");
    await page.waitForFunction(() => !document.getElementById("prev-week").disabled, null, TIMEOUT);
    await page.locator("button.slot").first().waitFor(TIMEOUT);
    k.after_next_week = await focused(page);
    // Back to this week: "Previous week" is disabled there, and the focus does not fall.
    await press("Shift+Tab");
    k.on_previous_week = await focused(page);
    await press("Enter");
    await page.waitForFunction(() => document.getElementById("prev-week").disabled, null, TIMEOUT);
    k.after_previous_disabled = await focused(page);
    await press("Enter");
    await page.waitForFunction(() => !document.getElementById("prev-week").disabled, null, TIMEOUT);
    await page.locator("button.slot").first().waitFor(TIMEOUT);
    // The days: one Tab stop, arrows between them, Enter shows a day's times.
    await press("Tab");
    k.day_stop = await focused(page);
    await press("ArrowRight");
    k.day_after_arrow = await focused(page);
    if (k.day_after_arrow !== k.day_stop) {
      await press("Enter");
      k.day_pressed = await page.$eval("#days button[aria-pressed=true]", (b) => b.getAttribute("data-day"));
    }
    await page.locator("button.slot").first().waitFor(TIMEOUT);
    await tabTo("the times", () => document.activeElement.classList.contains("slot"));
    k.time_stop = await focused(page);
    await press("ArrowRight");
    k.time_after_arrow = await focused(page);
    await press("ArrowLeft");
    k.time_after_left = await focused(page);
    await press("ArrowRight");
    await press("Enter");
    await page.locator("#details").waitFor({ state: "visible", ...TIMEOUT });
    k.after_choosing = await focused(page);
    await page.keyboard.type("Cleo Keys");
    await press("Tab");
    k.after_name = await focused(page);
    await page.keyboard.type("cleo.keys@example.com");
    await tabTo("the book button", () => document.activeElement.id === "submit");
    const booked = page.waitForResponse((r) => r.url().endsWith("/api/v1/bookings") && r.request().method() === "POST");
    await press("Enter");
    const booking = await (await booked).json();
    await page.locator("#done").waitFor({ state: "visible", ...TIMEOUT });
    k.after_booking = await focused(page);
    await tabTo("the manage link", () => document.activeElement.id === "done-manage");
    await press("Enter");
    await page.waitForURL(/reference=/, TIMEOUT);
    await page.locator("#manage-details dd").first().waitFor(TIMEOUT);
    await tabTo("choose another time", () => document.activeElement.id === "manage-reschedule");
    await press("Enter");
    await page.locator("button.slot").first().waitFor(TIMEOUT);
    k.after_reschedule = await focused(page);
    await tabTo("next week", () => document.activeElement.id === "next-week");
    await press("Enter");
    await page.waitForFunction(() => !document.getElementById("prev-week").disabled, null, TIMEOUT);
    await page.locator("button.slot").nth(2).waitFor(TIMEOUT);
    await tabTo("the new times", () => document.activeElement.classList.contains("slot"));
    await press("ArrowRight", 2);
    await press("Space");
    await page.locator("#move-confirm").waitFor({ state: "visible", ...TIMEOUT });
    k.after_choosing_new_time = await focused(page);
    await press("Tab");
    k.move_button = await focused(page);
    const moved = page.waitForResponse((r) => r.url().endsWith("/reschedule"));
    await press("Enter");
    k.moved_status = (await moved).status();
    await page.waitForFunction(() => document.getElementById("status").textContent.length > 0, null, TIMEOUT);
    k.after_move = await focused(page);
    await tabTo("cancel", () => document.activeElement.id === "manage-cancel");
    await press("Enter");
    k.after_cancel_asked = await focused(page);
    await press("Tab");
    k.cancel_button = await focused(page);
    await press("Space");
    await page.waitForFunction(() => /cancel/i.test(document.getElementById("status").textContent), null, TIMEOUT);
    k.after_cancel = await focused(page);
    k.reference = booking.reference;
    result.keyboard = k;
    await page.context().close();
  }

  // In Spanish, from the switch, on a phone ------------------------------------------------------------
  {
    const s = {};
    const page = await newPage(VIEWPORTS.mobile);
    await page.goto(`${base}/book`);
    await page.getByRole("radio", { name: /New-patient evaluation/ }).waitFor(TIMEOUT);
    await page.getByRole("button", { name: "Español" }).click();
    await page.waitForFunction(() => document.documentElement.lang === "es", null, TIMEOUT);
    s.switch_pressed = await page.getAttribute("button[data-lang=es]", "aria-pressed");
    s.title = await text(page, "#title");
    s.lead = await text(page, "#lead");
    s.visit_title = await text(page, "#visit-title");
    s.url = page.url();
    await checkAccessibility(page, "spanish: book, initial");
    await page.getByRole("radio", { name: /New-patient evaluation/ }).check();
    await page.click("#visit-continue");
    await page.locator("button.slot").first().waitFor(TIMEOUT);
    await toNextWeek(page);
    s.week_label = await text(page, "#week-label");
    s.times_title = await text(page, "#times-title");
    s.day_names = await page.$$eval("#days .dow", (nodes) => nodes.map((n) => n.textContent));
    await page.locator("button.slot").first().click();
    await page.locator("#hold").waitFor({ state: "visible", ...TIMEOUT });
    s.chosen = await text(page, "#chosen");
    s.hold = await text(page, "#hold-text");
    s.policy = await text(page, "#policy");
    await page.click("#submit");
    await page.waitForFunction(() => document.getElementById("error-summary").textContent.length > 0, null, TIMEOUT);
    s.error_summary = await text(page, "#error-summary");
    s.name_error = await text(page, "#name-error");
    await page.screenshot({ path: `${shots}/mobile-es-errors.png` });
    await checkAccessibility(page, "spanish: book, validation error");
    await page.fill("#name", "Lucía Ortega");
    await page.fill("#email", "lucia.ortega@example.com");
    const booked = page.waitForResponse((r) => r.url().endsWith("/api/v1/bookings") && r.request().method() === "POST");
    await page.click("#submit");
    const response = await booked;
    s.sent_language = (JSON.parse(response.request().postData() || "{}").patient || {}).language;
    const booking = await response.json();
    await page.locator("#done").waitFor({ state: "visible", ...TIMEOUT });
    s.booked_title = await text(page, "#title");
    s.booked_details = await text(page, "#done-details");
    s.next = await text(page, "#done-next");
    s.manage_href = await page.getAttribute("#done-manage", "href");
    await page.screenshot({ path: `${shots}/mobile-es-booked.png` });
    await checkAccessibility(page, "spanish: book, booked");
    // The manage link opens in Spanish.
    await page.goto(`${base}${s.manage_href}`);
    await page.locator("#manage-details dd").first().waitFor(TIMEOUT);
    s.manage_title = await text(page, "#title");
    s.manage_buttons = [await text(page, "#manage-reschedule"), await text(page, "#manage-cancel")];
    await checkAccessibility(page, "spanish: manage, initial");
    // The widget in Spanish (the article asks for English: the switch wins).
    const reader = await newPage(VIEWPORTS.mobile);
    await reader.goto(articleUrl);
    await reader.locator(".cb-widget button[data-slot-id]").first().waitFor(TIMEOUT);
    await reader.getByRole("button", { name: "Español" }).click();
    await reader.waitForFunction(() => document.querySelector(".cb-widget").getAttribute("lang") === "es", null, TIMEOUT);
    s.widget_text = await text(reader, ".cb-widget");
    s.widget_more = await reader.getAttribute(".cb-widget .cb-more", "href");
    await checkAccessibility(reader, "spanish: widget, initial", ".cb-widget");
    s.reference = booking.reference;
    result.spanish = s;
    await page.context().close();
    await reader.context().close();
  }

  // 320 px wide: no sideways scrolling anywhere along the way -------------------------------------------
  {
    const narrow = { width: 320, height: 640 };
    const page = await newPage(narrow);
    await page.goto(`${base}/book`);
    await page.getByRole("radio", { name: /New-patient evaluation/ }).waitFor(TIMEOUT);
    await noteLayout(page, "320: book, initial");
    await page.getByRole("button", { name: "Español" }).click();
    await page.waitForFunction(() => document.documentElement.lang === "es", null, TIMEOUT);
    await page.getByRole("radio", { name: /New-patient evaluation/ }).check();
    await page.click("#visit-continue");
    await page.locator("button.slot").first().waitFor(TIMEOUT);
    await noteLayout(page, "320: book, times (es)");
    await page.locator("button.slot").first().click();
    await page.locator("#hold").waitFor({ state: "visible", ...TIMEOUT });
    await page.click("#submit");
    await page.waitForFunction(() => document.getElementById("error-summary").textContent.length > 0, null, TIMEOUT);
    await noteLayout(page, "320: book, validation error (es)");
    await page.screenshot({ path: `${shots}/narrow-320.png`, fullPage: true });
    result.narrow_scroll = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
    const reader = await newPage(narrow);
    await reader.goto(articleUrl);
    await reader.locator(".cb-widget button[data-slot-id]").first().waitFor(TIMEOUT);
    await noteLayout(reader, "320: widget", ".cb-widget");
    await page.context().close();
    await reader.context().close();
  }

  await browser.close();
  server.close();
  const report = JSON.stringify({
    ...result,
    small_targets: smallTargets,
    sideways_scroll: sideways,
    page_errors: pageErrors,
    accessibility_violations: violations,
    accessibility_checked: checked,
  });
  // Kept beside the screenshots, to read what each state showed.
  writeFileSync(`${shots}/patient.json`, report);
  console.log(report);
} catch (error) {
  await fail(`browser test failed: ${error.stack || error}`);
}
