// Runs a clinic morning through the front-desk console (/desk) in headless Chromium: a wrong
// password answered with the API's detail, the login, a patient found and booked by phone into
// a time inside the booking rules' notice (with the override's reason), checked in with a click
// and completed with the `c` key, another visit marked a no-show, a note added (with `e`), a
// late visit cancelled and one with red flags moved sooner, each with the cut-off's override
// and its reason, a slot blocked; meanwhile a second desk (another browser context, logged in
// separately as an admin) sees every change without reloading, and opens the mail queue. A
// third context with a stale token lands on the login. axe-core checks the console in each of
// its main states against WCAG 2.2 A and AA. Prints what it saw as JSON on its last line.
//
// Env: BASE_URL; SCREENSHOT_DIR; CHROMIUM (default /usr/bin/chromium); STAFF_EMAIL,
// STAFF_PASSWORD (a front-desk account); ADMIN_EMAIL, ADMIN_PASSWORD; PATIENT_QUERY and
// PATIENT_NAME (a patient who booked before); PROVIDER_NAME (whose times today the desk books);
// REVIEW_REFERENCE (a visit whose intake reported red flags);
// VISIT_TYPE; NO_SHOW_REFERENCE (a visit of today that has started); CANCEL_REFERENCE (a visit
// later today, inside the cut-off); NOTE_TEXT.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("BASE_URL");
const shots = process.env.SCREENSHOT_DIR || "target/screenshots";
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const patientQuery = env("PATIENT_QUERY");
const patientName = env("PATIENT_NAME");
const providerName = env("PROVIDER_NAME");
const visitTypeName = env("VISIT_TYPE");
const noShowReference = env("NO_SHOW_REFERENCE");
const cancelReference = env("CANCEL_REFERENCE");
const noteText = env("NOTE_TEXT");
const reviewReference = env("REVIEW_REFERENCE");
const timeout = 15000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const fail = async (message) => {
  await browser.close();
  console.error(message);
  process.exit(1);
};

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

// Script errors and refused resources (a Content-Security-Policy violation is one), on every
// page; a refused request's own line ("Failed to load resource", a 401 or 409 answered on
// purpose) is the API speaking, not the page failing.
const pageErrors = [];
const watch = (page, name) => {
  page.on("pageerror", (error) => pageErrors.push(`${name}: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      pageErrors.push(`${name}: ${message.text()}`);
    }
  });
  return page;
};

// "2026-12-01T13:30:00-11:00" as the sheet writes it: "1:30".
const clock = (stamp) => `${(Number(stamp.slice(11, 13)) + 11) % 12 + 1}:${stamp.slice(14, 16)}`;

const focusedId = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);
const row = (page, reference) => page.locator(`#sheet-list li[data-reference="${reference}"]`);
const badge = async (page, reference) => (await row(page, reference).locator(".badge").textContent()).trim();
const waitForBadge = (page, reference, text) => page.waitForFunction(([ref, wanted]) => {
  const b = document.querySelector(`#sheet-list li[data-reference="${ref}"] .badge`);
  return b && b.textContent.trim() === wanted;
}, [reference, text], { timeout });

const logIn = async (page, email, password) => {
  await page.goto(`${base}/desk`);
  await page.fill("#login-email", email);
  await page.fill("#login-password", password);
  await page.click("#login-submit");
  await page.locator("#desk").waitFor({ state: "visible", timeout });
  await page.waitForFunction(() => document.getElementById("sheet-title").textContent.includes("·"), null, { timeout });
};

try {
  // The first desk: the login, and a wrong password first.
  const desk = watch(await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage(), "desk");
  desk.on("dialog", (dialog) => dialog.accept());
  await desk.goto(`${base}/desk`);
  await desk.locator("#login-email").waitFor({ timeout });
  const staffShownBeforeLogin = await desk.locator("#desk").isVisible();
  await checkAccessibility(desk, "login");
  await desk.fill("#login-email", env("STAFF_EMAIL"));
  await desk.fill("#login-password", "not-the-password");
  await desk.click("#login-submit");
  await desk.waitForFunction(() => document.getElementById("login-error").textContent.length > 0, null, { timeout });
  const loginError = (await desk.textContent("#login-error")).trim();
  const focusAfterLoginError = await focusedId(desk);
  await desk.screenshot({ path: `${shots}/desk-login.png` });
  await logIn(desk, env("STAFF_EMAIL"), env("STAFF_PASSWORD"));
  const focusAfterLogin = await focusedId(desk);
  const tokenInSession = await desk.evaluate(() => Boolean(window.sessionStorage.getItem("clinic-desk-session")) && window.localStorage.length === 0);
  await row(desk, noShowReference).waitFor({ timeout });
  const mailTabForDesk = await desk.locator("#tab-mail").isVisible();
  const reviewFlag = (await row(desk, reviewReference).locator(".flag").textContent()).trim();
  await checkAccessibility(desk, "day sheet");

  // The second desk, logged in separately (an admin), watching the same sheet.
  const other = watch(await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage(), "second desk");
  await logIn(other, env("ADMIN_EMAIL"), env("ADMIN_PASSWORD"));
  await row(other, noShowReference).waitFor({ timeout });
  await other.evaluate(() => { window.notReloaded = true; });

  // Find the patient: `/` goes to the search.
  await desk.keyboard.press("/");
  if ((await focusedId(desk)) !== "patient-q") await fail("/ did not focus the patient search");
  await desk.keyboard.type(patientQuery);
  const found = desk.locator("#patient-results button", { hasText: patientName });
  await found.first().waitFor({ timeout });
  await found.first().click();
  await desk.locator("#patient").waitFor({ state: "visible", timeout });
  if ((await focusedId(desk)) !== "patient-name") await fail("focus did not move to the patient");
  const patientCard = (await desk.textContent("#patient")).replace(/\s+/g, " ").trim();
  await desk.screenshot({ path: `${shots}/desk-patient.png` });
  await checkAccessibility(desk, "patient");
  await desk.click("#patient-book");

  // Book by phone: the visit type, the provider, the earliest time that fits; it is inside the
  // notice, so the form asks why before booking.
  await desk.locator("#panel-book").waitFor({ state: "visible", timeout });
  const bookedName = await desk.inputValue("#book-name");
  const bookedSummary = (await desk.textContent("#book-patient-summary")).trim();
  const typeValue = await desk.$eval("#book-type", (s, name) => Array.from(s.options).find((o) => o.textContent.includes(name)).value, visitTypeName);
  await desk.selectOption("#book-type", typeValue);
  const providerValue = await desk.$eval("#book-provider", (s, name) => Array.from(s.options).find((o) => o.textContent.includes(name)).value, providerName);
  const timesAsked = desk.waitForResponse((r) => r.url().includes("/api/v1/slots?") && r.url().includes(`provider_id=${providerValue}`));
  await desk.selectOption("#book-provider", providerValue);
  await timesAsked;
  const firstTime = desk.locator("#book-times button").first();
  await firstTime.waitFor({ timeout });
  await firstTime.click();
  await desk.locator("#book-override-field").waitFor({ state: "visible", timeout });
  const overrideHint = (await desk.textContent("#book-override-hint")).trim();
  const bookPolicy = (await desk.textContent("#book-policy")).trim();
  await desk.fill("#book-override", "Called in with acute back pain; seen today");
  await desk.fill("#book-reason", "Lower-back pain after lifting");
  await checkAccessibility(desk, "booking by phone");
  await desk.screenshot({ path: `${shots}/desk-book.png` });
  const bookedAnswer = desk.waitForResponse((r) => r.url().endsWith("/api/v1/bookings") && r.request().method() === "POST");
  await desk.click("#book-submit");
  const booking = await (await bookedAnswer).json();
  const bookRequest = JSON.parse((await bookedAnswer).request().postData());
  await desk.locator("#book-done").waitFor({ state: "visible", timeout });
  const bookDone = (await desk.textContent("#book-done")).trim();
  if ((await focusedId(desk)) !== "book-done") await fail("focus did not move to the confirmation");
  const reference = booking.reference;

  // The new visit is on the sheet: checked in with a click, completed with `c`.
  await row(desk, reference).waitFor({ timeout });
  await row(desk, reference).locator('button[data-action="arrived"]').click();
  await waitForBadge(desk, reference, "Arrived");
  const focusAfterArrived = await desk.evaluate(() => document.activeElement && document.activeElement.dataset.action);
  await desk.keyboard.press("c");
  await waitForBadge(desk, reference, "Completed");

  // Another visit, started and nobody came: a no-show.
  await row(desk, noShowReference).locator('button[data-action="no_show"]').click();
  await waitForBadge(desk, noShowReference, "No-show");

  // A note on the visit just completed, from the keyboard: `e` on its row.
  await row(desk, reference).focus();
  await desk.keyboard.press("e");
  await desk.locator("#note-dialog").waitFor({ state: "visible", timeout });
  if ((await focusedId(desk)) !== "note-body") await fail("focus did not move to the note");
  await checkAccessibility(desk, "note dialog");
  await desk.fill("#note-body", noteText);
  await desk.click("#note-save");
  await desk.waitForFunction(() => !document.getElementById("note-dialog").open || document.getElementById("note-error").textContent, null, { timeout });
  if (await desk.locator("#note-dialog").isVisible()) await fail(`the note was refused: ${await desk.textContent("#note-error")}`);
  await row(desk, reference).locator(".notes", { hasText: noteText }).waitFor({ timeout });

  // A visit later today, inside the cut-off: cancelling shows the rules and asks why.
  await row(desk, cancelReference).locator('button[data-action="cancel"]').click();
  await desk.locator("#cancel-dialog").waitFor({ state: "visible", timeout });
  await desk.locator("#cancel-override-field").waitFor({ state: "visible", timeout });
  const cancelPolicy = (await desk.textContent("#cancel-policy")).trim();
  await checkAccessibility(desk, "cancel dialog");
  await desk.screenshot({ path: `${shots}/desk-cancel.png` });
  await desk.click("#cancel-submit");
  await desk.waitForFunction(() => document.getElementById("cancel-error").textContent.length > 0, null, { timeout });
  const cancelWithoutReason = (await desk.textContent("#cancel-error")).trim();
  await desk.fill("#cancel-override", "Patient phoned: her car broke down");
  await desk.click("#cancel-submit");
  await waitForBadge(desk, cancelReference, "Cancelled");

  // The visit with red flags moves earlier, to the first time the dialog offers: the visit is
  // inside the cut-off, so the dialog asks why.
  await row(desk, reviewReference).locator('button[data-action="move"]').click();
  await desk.locator("#move-dialog").waitFor({ state: "visible", timeout });
  const moveTime = desk.locator("#move-times button").first();
  await moveTime.waitFor({ timeout });
  const movedSlotId = Number(await moveTime.getAttribute("data-slot-id"));
  await moveTime.click();
  await desk.locator("#move-override-field").waitFor({ state: "visible", timeout });
  const movePolicy = (await desk.textContent("#move-policy")).trim();
  await checkAccessibility(desk, "move dialog");
  await desk.fill("#move-override", "Red flags: seen sooner");
  const movedAnswer = desk.waitForResponse((r) => r.url().endsWith("/reschedule"));
  await desk.click("#move-submit");
  const moved = await (await movedAnswer).json();
  await desk.locator("#move-dialog").waitFor({ state: "hidden", timeout });
  const movedWhen = await desk.waitForFunction(([ref, start]) => {
    const when = document.querySelector(`#sheet-list li[data-reference="${ref}"] .when`);
    return when && when.textContent.startsWith(start) && when.textContent;
  }, [reviewReference, clock(moved.slot.local_start)], { timeout });

  // The second desk saw it all, without a reload.
  await waitForBadge(other, reference, "Completed");
  await waitForBadge(other, noShowReference, "No-show");
  await waitForBadge(other, cancelReference, "Cancelled");
  const movedText = await movedWhen.jsonValue();
  await other.waitForFunction(([ref, when]) => {
    const cell = document.querySelector(`#sheet-list li[data-reference="${ref}"] .when`);
    return cell && cell.textContent === when;
  }, [reviewReference, movedText], { timeout });
  await row(other, reference).locator(".notes", { hasText: noteText }).waitFor({ timeout });
  const otherNotReloaded = await other.evaluate(() => window.notReloaded === true);
  const otherSeen = {
    completed: await badge(other, reference),
    no_show: await badge(other, noShowReference),
    cancelled: await badge(other, cancelReference),
    moved: (await row(other, reviewReference).locator(".when").textContent()).trim(),
    note: (await row(other, reference).locator(".notes").textContent()).trim(),
  };
  await other.screenshot({ path: `${shots}/desk-second.png` });
  await checkAccessibility(other, "second desk");

  // The admin's mail queue.
  const mailTabForAdmin = await other.locator("#tab-mail").isVisible();
  await other.click("#tab-mail");
  await other.selectOption("#mail-status", "pending");
  await other.waitForFunction(() => document.getElementById("mail-summary").textContent.length > 0, null, { timeout });
  const mailSummary = (await other.textContent("#mail-summary")).trim();
  await checkAccessibility(other, "mail queue");
  await other.screenshot({ path: `${shots}/desk-mail.png` });

  // Block a slot of the provider today.
  await desk.click("#tab-block");
  const blockProvider = await desk.$eval("#block-provider", (s, name) => Array.from(s.options).find((o) => o.textContent.includes(name)).value, providerName);
  const slotsAsked = desk.waitForResponse((r) => r.url().includes(`/api/v1/slots?provider_id=${blockProvider}`));
  await desk.selectOption("#block-provider", blockProvider);
  await slotsAsked;
  const blockRow = desk.locator("#block-slots li").filter({ has: desk.locator("button", { hasText: "Block" }) }).first();
  await blockRow.waitFor({ timeout });
  const blockedSlotId = await blockRow.getAttribute("data-slot-id");
  await blockRow.locator("button").click();
  await desk.locator(`#block-slots li[data-slot-id="${blockedSlotId}"] button`, { hasText: "Free again" }).waitFor({ timeout });
  await checkAccessibility(desk, "block time");

  // The keyboard: `j` chooses a visit, `?` opens the shortcuts.
  await desk.locator("#sheet-title").focus();
  await desk.keyboard.press("j");
  const focusAfterJ = await desk.evaluate(() => document.activeElement && document.activeElement.dataset.reference);
  await desk.keyboard.press("?");
  const shortcutsOpen = await desk.evaluate(() => document.getElementById("shortcuts").open);

  // For the README: the sheet with the patient beside it.
  await desk.evaluate(() => { document.getElementById("shortcuts").open = false; });
  await desk.click("#tab-patients");
  await desk.locator("#sheet-title").focus();
  await desk.screenshot({ path: `${shots}/desk.png` });

  // A tablet held upright.
  await desk.setViewportSize({ width: 820, height: 1180 });
  await desk.screenshot({ path: `${shots}/desk-tablet.png` });
  await checkAccessibility(desk, "tablet");

  // A stale token: the first answer is a 401, and the console goes back to the login.
  const stale = watch(await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage(), "stale");
  await stale.addInitScript(() => window.sessionStorage.setItem("clinic-desk-session", "stale.token.value"));
  await stale.goto(`${base}/desk`);
  await stale.waitForFunction(() => document.getElementById("login-note").textContent.length > 0, null, { timeout });
  const staleNote = (await stale.textContent("#login-note")).trim();
  const staleDeskHidden = await stale.locator("#desk").isHidden();

  await browser.close();
  console.log(JSON.stringify({
    staff_shown_before_login: staffShownBeforeLogin,
    login_error: loginError,
    focus_after_login_error: focusAfterLoginError,
    focus_after_login: focusAfterLogin,
    token_in_session_storage_only: tokenInSession,
    mail_tab_for_desk: mailTabForDesk,
    review_flag: reviewFlag,
    mail_tab_for_admin: mailTabForAdmin,
    patient_card: patientCard,
    booked_name: bookedName,
    booked_summary: bookedSummary,
    book_policy: bookPolicy,
    override_hint: overrideHint,
    book_request: bookRequest,
    book_done: bookDone,
    reference,
    focus_after_arrived: focusAfterArrived,
    cancel_policy: cancelPolicy,
    move_policy: movePolicy,
    moved_slot_id: movedSlotId,
    moved_when: movedText,
    cancel_without_reason: cancelWithoutReason,
    other_seen: otherSeen,
    other_not_reloaded: otherNotReloaded,
    mail_summary: mailSummary,
    blocked_slot_id: Number(blockedSlotId),
    focus_after_j: focusAfterJ,
    shortcuts_open: shortcutsOpen,
    stale_note: staleNote,
    stale_desk_hidden: staleDeskHidden,
    page_errors: pageErrors,
    accessibility_violations: violations,
    accessibility_checked: checked,
  }));
} catch (error) {
  await fail(`desk test failed: ${error.stack || error}`);
}
