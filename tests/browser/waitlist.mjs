// The waitlist page in headless Chromium: a patient joins from the form (and is told to confirm
// by email), then opens an offer mail's one-click link, which books the time held for them, and
// opens it again, which says the time is theirs already instead of failing; the form in Spanish
// (?lang=es) and back in English by the switch. axe-core checks each
// step against WCAG 2.2 A and AA. Prints what it saw as JSON on its last line.
//
// Env: BASE_URL (the app), OFFER_URL (an offer mail's accept link), DEEP_LINK (a published
// Slot's booking deep link), SCREENSHOT_DIR, CHROMIUM.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const offerUrl = process.env.OFFER_URL;
const shots = process.env.SCREENSHOT_DIR || "target/screenshots";
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

const violations = [];
const checked = [];
const checkAccessibility = async (page, step) => {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    });
    return result.violations.map((v) => ({ rule: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  });
  found.forEach((v) => violations.push({ step, ...v }));
  checked.push(step);
};
const focusedId = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

try {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });

  // Joining: the form, an invalid address first (the API's reason shown by the field), then a
  // good one.
  await page.goto(`${base}/waitlist`);
  await page.waitForFunction(() => document.querySelectorAll("#visit-type option").length > 0);
  await checkAccessibility(page, "waitlist: the form");
  await page.fill("#name", "Rosa Villa");
  await page.fill("#email", "not-an-address");
  await page.check("input[name=days][value=mon]");
  await page.check("input[name=times][value=morning]");
  await page.click("#join-submit");
  await page.waitForFunction(() => document.getElementById("patient.email-error").textContent.length > 0);
  const emailError = await page.textContent("#patient\\.email-error");
  const focusAfterError = await focusedId(page);
  await page.fill("#email", "rosa.villa@example.com");
  await page.click("#join-submit");
  await page.waitForSelector("#entry:not([hidden])");
  const joinedStatus = await page.textContent("#status");
  const joinedDetails = await page.textContent("#entry-details");
  await page.screenshot({ path: `${shots}/waitlist-joined.png`, fullPage: true });
  await checkAccessibility(page, "waitlist: joined");

  // In Spanish: ?lang=es opens the form in Spanish, <html lang="es">, and the switch goes back
  // to English.
  await page.goto(`${base}/waitlist?lang=es`);
  await page.waitForFunction(() => document.documentElement.lang === "es" &&
    document.querySelectorAll("#visit-type option").length > 0);
  const spanish = await page.evaluate(() => ({
    lang: document.documentElement.lang,
    title: document.getElementById("title").textContent,
    submit: document.getElementById("join-submit").textContent,
    monday: document.querySelector("input[name=days][value=mon]").parentElement.textContent.trim(),
    visit: document.getElementById("visit-type").options[0].textContent,
    pressed: document.querySelector(".lang-option[data-lang=es]").getAttribute("aria-pressed"),
  }));
  await page.screenshot({ path: `${shots}/waitlist-es.png`, fullPage: true });
  await checkAccessibility(page, "waitlist: the form in Spanish");
  await page.click(".lang-option[data-lang=en]");
  await page.waitForFunction(() => document.documentElement.lang === "en");
  const switchedTitle = await page.textContent("#title");

  // The offer mail's one-click link books the time.
  await page.goto(offerUrl);
  await page.waitForSelector("#booked:not([hidden])", { timeout: 15000 });
  const bookedTitle = await page.textContent("h1");
  const bookedDetails = await page.textContent("#booked-details");
  const focusAfterBooking = await focusedId(page);
  const manageHref = await page.getAttribute("#booked-manage", "href");
  await page.screenshot({ path: `${shots}/waitlist-booked.png`, fullPage: true });
  await checkAccessibility(page, "waitlist: offer taken");

  // Clicking the link again: a clear page, not an error.
  await page.goto(offerUrl);
  await page.waitForSelector("#offer:not([hidden])");
  await page.waitForFunction(() => document.getElementById("offer-hold-text").textContent.length > 0);
  const againText = await page.textContent("#offer-hold-text");
  const acceptDisabled = await page.isDisabled("#offer-accept");
  await checkAccessibility(page, "waitlist: offer taken already");

  // An aggregator's deep link (from /fhir/$bulk-publish) opens /book on that visit type and
  // time, picked and held.
  let deepChosen = null;
  let deepHeld = null;
  if (process.env.DEEP_LINK) {
    await page.goto(process.env.DEEP_LINK);
    await page.waitForSelector("#details:not([hidden])", { timeout: 15000 });
    await page.waitForSelector("#hold:not([hidden])", { timeout: 15000 });
    deepChosen = await page.textContent("#chosen");
    deepHeld = await page.textContent("#hold-text");
    await checkAccessibility(page, "book: from a deep link");
  }

  await browser.close();
  console.log(JSON.stringify({
    spanish,
    switched_title: switchedTitle,
    deep_chosen: deepChosen,
    deep_held: deepHeld,
    email_error: emailError,
    focus_after_error: focusAfterError,
    joined_status: joinedStatus,
    joined_details: joinedDetails,
    booked_title: bookedTitle,
    booked_details: bookedDetails,
    focus_after_booking: focusAfterBooking,
    manage_href: manageHref,
    again_text: againText,
    accept_disabled: acceptDisabled,
    accessibility_violations: violations,
    accessibility_checked: checked,
  }));
} catch (error) {
  await browser.close();
  console.error(`browser test failed: ${error.stack || error}`);
  process.exit(1);
}
