// The booking page: choose a visit type, then a day of a week and one of its times where that
// visit fits, enter your details, book; the confirmation names the clinic, its address and phone,
// what happens next, a calendar file and the manage link. Opened from a confirmation email
// (?reference=…&token=…) it shows that booking and lets the patient move it (to times where its
// visit type fits) or cancel it, each change confirmed in the page and announced. In English and
// Spanish (the switch, else ?lang=, else the browser's languages; the texts are /i18n/en.json
// and /i18n/es.json). Plain JavaScript against the public API; no framework, no third-party code.
(function () {
  "use strict";

  var LANGUAGES = ["en", "es"];
  var params = new URLSearchParams(window.location.search);
  var state = {
    lang: "en",
    // Whether the patient used the switch (then a booking's own language does not override it).
    switched: false,
    strings: {},
    catalogs: {},
    providerId: params.get("provider_id") || "",
    source: params.get("source") || "",
    providers: [],
    locations: [],
    // The active visit types (GET /api/v1/visit-types); empty if the clinic has none, and then
    // the page books plain slots as it did before visit types.
    visitTypes: [],
    // The one the patient chose, or (when moving a booking) the booking's: {id, name, duration_minutes}.
    visitType: null,
    policy: null,
    // The first day of the week shown ("YYYY-MM-DD", the clinic's calendar), its times by day,
    // and the day shown.
    weekStart: null,
    week: null,
    day: null,
    // A deep link (an aggregator's, from /fhir/$bulk-publish) names a start: its week and day
    // are shown and the time picked, once.
    deepStart: params.get("start") ? new Date(params.get("start")) : null,
    chosen: null,
    // The time kept for the patient while they fill in the form (POST /api/v1/holds):
    // {token, endsAt (this browser's clock), timer, say}.
    hold: null,
    booking: null,
    manage: params.get("reference") && params.get("token")
      ? { reference: params.get("reference"), token: params.get("token"), booking: null, moving: false }
      : null,
    // What the page says in words that depend on the language: re-said when it changes.
    sayings: {},
    fieldErrors: {}
  };

  function $(id) { return document.getElementById(id); }

  // Texts --------------------------------------------------------------------------------------

  function t(key, values) {
    var text = state.strings[key];
    if (typeof text !== "string") text = key;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && values[name] !== undefined ? String(values[name]) : whole;
    });
  }

  function locale() { return state.lang === "es" ? "es-US" : "en-US"; }

  function plural(key, n, values) {
    var form = new Intl.PluralRules(locale()).select(n) === "one" ? "one" : "other";
    var all = { n: n };
    Object.keys(values || {}).forEach(function (k) { all[k] = values[k]; });
    return t(key + "." + form, all);
  }

  function list(items) {
    if (window.Intl && Intl.ListFormat) return new Intl.ListFormat(locale(), { type: "conjunction" }).format(items);
    return items.join(", ");
  }

  // A length of time in words: whole days from two days up, else whole hours, else minutes.
  function duration(minutes) {
    if (minutes >= 2880 && minutes % 1440 === 0) return plural("unit.day", minutes / 1440);
    if (minutes >= 60 && minutes % 60 === 0) return plural("unit.hour", minutes / 60);
    return plural("unit.minute", minutes);
  }

  // Sets an element's text from a function of the language, and says it again when it changes.
  function say(id, words) {
    state.sayings[id] = words;
    $(id).textContent = words ? words() : "";
  }

  function sayAgain() {
    Object.keys(state.sayings).forEach(function (id) {
      var words = state.sayings[id];
      $(id).textContent = words ? words() : "";
    });
  }

  function catalog(lang) {
    if (state.catalogs[lang]) return Promise.resolve(state.catalogs[lang]);
    return fetch("/i18n/" + lang + ".json", { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (strings) { state.catalogs[lang] = strings; return strings; });
  }

  function preferredLanguage() {
    var asked = params.get("lang");
    if (LANGUAGES.indexOf(asked) !== -1) return asked;
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
    for (var i = 0; i < wanted.length; i += 1) {
      var code = String(wanted[i]).slice(0, 2).toLowerCase();
      if (LANGUAGES.indexOf(code) !== -1) return code;
    }
    return "en";
  }

  function applyStatic() {
    document.documentElement.lang = state.lang;
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (node) {
      node.textContent = t(node.getAttribute("data-i18n"));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-label]"), function (node) {
      node.setAttribute("aria-label", t(node.getAttribute("data-i18n-label")));
    });
    Array.prototype.forEach.call(document.querySelectorAll(".lang-option"), function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-lang") === state.lang));
    });
  }

  function setLanguage(lang) {
    return catalog(lang).then(function (strings) {
      state.lang = lang;
      state.strings = strings;
      applyStatic();
      renderAll();
      if (params.get("lang") || state.switched) {
        params.set("lang", lang);
        window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
      }
    });
  }

  // Everything drawn from data, drawn again in the language now chosen.
  function renderAll() {
    sayAgain();
    showPolicy();
    if (state.visitTypes.length) showVisitTypes();
    fillProviders();
    if (state.visitType) $("visit-summary-text").textContent = visitLabel(state.visitType);
    if (state.week) drawWeek();
    if (state.chosen && !$("details").hidden) showChosen();
    showFieldErrors(state.fieldErrors, false);
    if (state.manage && state.manage.booking) showBooking(state.manage.booking);
    if (state.booking) showDone(state.booking);
    if (state.manage && state.manage.pendingMove) askMove(state.manage.pendingMove, false);
  }

  // Time -----------------------------------------------------------------------------------------

  function format(instant, timeZone, options) {
    var o = { timeZone: timeZone };
    Object.keys(options).forEach(function (k) { o[k] = options[k]; });
    return new Intl.DateTimeFormat(locale(), o).format(new Date(instant));
  }

  function timeOf(instant, timeZone, zoneName) {
    var options = { hour: "numeric", minute: "2-digit" };
    if (zoneName) options.timeZoneName = "short";
    return format(instant, timeZone, options);
  }

  function dayOf(instant, timeZone) {
    return format(instant, timeZone, { weekday: "long", month: "long", day: "numeric" });
  }

  // "YYYY-MM-DD" calendar days, counted at noon UTC so that no zone moves them.
  function dateAt(day) {
    var p = day.split("-");
    return Date.UTC(Number(p[0]), Number(p[1]) - 1, Number(p[2]), 12);
  }

  function addDays(day, n) { return new Date(dateAt(day) + n * 86400000).toISOString().slice(0, 10); }

  function dayLabel(day, options) { return format(dateAt(day), "UTC", options); }

  function clinicZone() {
    var main = state.locations[0];
    return main ? main.timezone : "America/Phoenix";
  }

  // Today in the clinic's calendar.
  function today() { return dayInZone(new Date(), clinicZone()); }

  function dayInZone(instant, timeZone) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", { timeZone: timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(instant).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day;
  }

  // The API ----------------------------------------------------------------------------------------

  function api(path, options) {
    options = options || {};
    var headers = { "Accept": "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.token) headers["Authorization"] = "Bearer " + options.token;
    if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    return fetch(path, {
      method: options.method || "GET",
      headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  function clinicPhone() { return (state.policy && state.policy.clinic_phone) || ""; }

  // A refusal in the patient's language: the rule or the reason the API names, else its words.
  function refusal(result, fallbackKey) {
    var body = result.body || {};
    var phone = body.clinic_phone || clinicPhone();
    if (body.rule) return t("refusal." + body.rule, { phone: phone });
    if (body.slot_id !== undefined) return t("refusal.slot_taken");
    if (/returning patients/.test(body.detail || "")) {
      return t("refusal.returning", { visit: state.visitType ? state.visitType.name : "", phone: phone });
    }
    if (result.status === 0) return t("error.network");
    if (result.status === 429) return t("refusal.too_many");
    return state.lang === "en" && body.detail ? body.detail : t(fallbackKey, { phone: phone });
  }

  // The clinic's booking rules (how soon, how far ahead, until when a visit can be cancelled
  // or moved online), shown beside the form and the manage buttons before the patient commits.
  function loadPolicy() {
    return api("/api/v1/booking-policy").then(function (result) {
      if (result.status === 200) state.policy = result.body;
    }, function () {});
  }

  function showPolicy() {
    var p = state.policy;
    if (!p) return;
    var words = t("policy.summary", {
      notice: duration(p.min_notice_minutes),
      horizon: duration(p.horizon_days * 1440),
      cutoff: duration(p.cancel_cutoff_hours * 60),
      max: p.max_active_per_email
    }) + (p.text ? " " + p.text : "");
    Array.prototype.forEach.call(document.querySelectorAll("[data-booking-policy]"), function (node) {
      node.textContent = words;
    });
  }

  function loadProviders() {
    return api("/api/v1/providers").then(function (result) {
      state.providers = result.body.items || [];
    }, function () {});
  }

  function loadLocations() {
    return api("/api/v1/locations").then(function (result) {
      state.locations = (result.status === 200 && (result.body.items || result.body)) || [];
      if (!Array.isArray(state.locations)) state.locations = [];
      state.locations.sort(function (a, b) { return a.id - b.id; });
    }, function () { state.locations = []; });
  }

  function loadVisitTypes() {
    return api("/api/v1/visit-types").then(function (result) {
      state.visitTypes = result.status === 200 ? result.body.items || [] : [];
    }, function () { state.visitTypes = []; });
  }

  function findVisitType(id) {
    return state.visitTypes.filter(function (v) { return String(v.id) === String(id); })[0] || null;
  }

  function findLocation(id) {
    return state.locations.filter(function (l) { return l.id === id; })[0] || null;
  }

  function visitLabel(type) {
    return t("visit.label", { name: type.name, length: plural("unit.minute", type.duration_minutes) });
  }

  // Step 1: the visit type ------------------------------------------------------------------------

  function visitOption(type) {
    var id = "visit-type-" + type.id;
    var option = document.createElement("div");
    option.className = "option";
    var input = document.createElement("input");
    input.type = "radio";
    input.name = "visit_type";
    input.id = id;
    input.value = String(type.id);
    input.setAttribute("aria-describedby", id + "-description");
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = type.name + " ";
    var length = document.createElement("span");
    length.className = "length";
    length.textContent = "· " + plural("unit.minute", type.duration_minutes) +
      (type.new_patients_online ? "" : " · " + t("visit.for_returning"));
    label.appendChild(length);
    var description = document.createElement("p");
    description.className = "description";
    description.id = id + "-description";
    description.textContent = type.description;
    option.appendChild(input);
    option.appendChild(label);
    option.appendChild(description);
    return option;
  }

  // New patients see the types they may book online first; the others follow under
  // "Returning patient?", still selectable (the API refuses them, 409, without an earlier visit).
  function showVisitTypes() {
    var checked = document.querySelector("input[name=visit_type]:checked");
    var keep = checked ? checked.value : null;
    var hadFocus = document.activeElement && document.activeElement.name === "visit_type" ? document.activeElement.value : null;
    $("visit-types-new").textContent = "";
    $("visit-types-returning").textContent = "";
    var returning = 0;
    state.visitTypes.forEach(function (type) {
      var into = type.new_patients_online ? $("visit-types-new") : $("visit-types-returning");
      if (!type.new_patients_online) returning += 1;
      into.appendChild(visitOption(type));
    });
    $("visit-returning").hidden = returning === 0;
    if (keep && $("visit-type-" + keep)) $("visit-type-" + keep).checked = true;
    if (hadFocus && $("visit-type-" + hadFocus)) $("visit-type-" + hadFocus).focus();
  }

  // The provider list offers only those who offer the chosen visit type (all, without one).
  function fillProviders() {
    var offered = state.visitType && findVisitType(state.visitType.id);
    var providers = state.providers.filter(function (p) {
      return !offered || offered.provider_ids.indexOf(p.id) !== -1;
    });
    var select = $("provider");
    select.textContent = "";
    if (providers.length !== 1) {
      var any = document.createElement("option");
      any.value = "";
      any.textContent = t("choose.any_provider");
      select.appendChild(any);
    }
    providers.forEach(function (p) {
      var option = document.createElement("option");
      option.value = String(p.id);
      option.textContent = p.name + " — " + p.title;
      select.appendChild(option);
    });
    var kept = providers.some(function (p) { return String(p.id) === state.providerId; });
    if (providers.length === 1) state.providerId = String(providers[0].id);
    else if (!kept) state.providerId = "";
    select.value = state.providerId;
  }

  function chooseVisitType(type, moveFocus) {
    state.visitType = { id: type.id, name: type.name, duration_minutes: type.duration_minutes };
    state.chosen = null;
    letGo();
    state.weekStart = firstWeek();
    say("visit-error", null);
    $("visit-summary-text").textContent = visitLabel(type);
    $("details").hidden = true;
    // Step 1 folds away (its choice stays named above the times, with "Change visit type").
    $("visit").hidden = true;
    $("choose").hidden = false;
    fillProviders();
    loadWeek();
    if (moveFocus) $("choose-title").focus();
  }

  // Step 2: a week, its days, a day's times ---------------------------------------------------------

  // The week a page opens on: a deep link's, else the one starting today.
  function firstWeek() {
    var now = today();
    if (!state.deepStart || isNaN(state.deepStart.getTime())) return now;
    var day = dayInZone(state.deepStart, clinicZone());
    return day > now ? day : now;
  }

  function weekNav() {
    var from = state.weekStart;
    var now = today();
    $("prev-week").disabled = from <= now;
    // Nothing can be booked past the horizon: no week to page on to there.
    $("next-week").disabled = Boolean(state.policy) && addDays(from, 7) >= addDays(now, state.policy.horizon_days);
    // A button that just became disabled would drop the focus to the page: keep it in the week.
    var focused = document.activeElement;
    if (focused && focused.disabled && (focused.id === "prev-week" || focused.id === "next-week")) {
      var other = focused.id === "prev-week" ? $("next-week") : $("prev-week");
      (other.disabled ? $("week-label") : other).focus();
    }
  }

  var weekAsked = 0;

  function loadWeek() {
    var from = state.weekStart;
    var to = addDays(from, 7);
    weekNav();
    var query = "from=" + from + "&to=" + to + "&limit=500";
    if (state.providerId) query += "&provider_id=" + encodeURIComponent(state.providerId);
    if (state.visitType) query += "&visit_type_id=" + encodeURIComponent(state.visitType.id);
    var asked = weekAsked += 1;
    state.week = { from: from, days: {}, items: [], loading: true };
    drawWeek();
    say("choose-error", null);
    hideMove();
    return api("/api/v1/slots?" + query).then(function (result) {
      if (asked !== weekAsked) return;
      var items = result.status === 200 ? result.body.items || [] : [];
      var week = { from: from, days: {}, items: items, loading: false, failed: result.status !== 200 };
      items.forEach(function (slot) {
        var day = slot.local_start.slice(0, 10);
        (week.days[day] = week.days[day] || []).push(slot);
      });
      state.week = week;
      var linked = state.deepStart;
      state.deepStart = null;
      var pick = null;
      if (linked && !isNaN(linked.getTime())) {
        pick = items.filter(function (slot) {
          return new Date(slot.start).getTime() === linked.getTime() &&
            (!params.get("provider_id") || String(slot.provider.id) === params.get("provider_id"));
        })[0] || null;
        // The linked time is gone (taken since it was published): say so, and show the week.
        if (!pick) say("choose-error", function () { return t("choose.link_taken"); });
      }
      var chosenDay = state.chosen && week.days[state.chosen.local_start.slice(0, 10)] ? state.chosen.local_start.slice(0, 10) : null;
      state.day = pick ? pick.local_start.slice(0, 10) : chosenDay || firstDayWithTimes(week);
      drawWeek();
      if (pick) {
        var button = document.querySelector("button.slot[data-slot-id='" + pick.id + "']");
        if (button) choose(pick, button);
      }
    }, function () {
      if (asked !== weekAsked) return;
      state.week = { from: from, days: {}, items: [], loading: false, failed: true };
      drawWeek();
    });
  }

  function firstDayWithTimes(week) {
    for (var i = 0; i < 7; i += 1) {
      var day = addDays(week.from, i);
      if (week.days[day]) return day;
    }
    return null;
  }

  function drawWeek() {
    var week = state.week;
    var from = week.from;
    var range = new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric", timeZone: "UTC" });
    $("week-label").textContent = range.formatRange
      ? range.formatRange(new Date(dateAt(from)), new Date(dateAt(addDays(from, 6))))
      : range.format(new Date(dateAt(from))) + " – " + range.format(new Date(dateAt(addDays(from, 6))));
    var days = $("days");
    var focusedDay = document.activeElement && document.activeElement.parentNode === days ? document.activeElement.getAttribute("data-day") : null;
    days.textContent = "";
    var now = today();
    var stop = null;
    for (var i = 0; i < 7; i += 1) {
      var day = addDays(from, i);
      var count = (week.days[day] || []).length;
      var button = document.createElement("button");
      button.type = "button";
      button.setAttribute("data-day", day);
      button.setAttribute("aria-pressed", String(day === state.day));
      var dow = document.createElement("span");
      dow.className = "dow";
      dow.textContent = dayLabel(day, { weekday: "short" });
      var dom = document.createElement("span");
      dom.className = "dom";
      dom.textContent = dayLabel(day, { day: "numeric" });
      var more = document.createElement("span");
      more.className = "sr-only";
      more.textContent = ", " + dayLabel(day, { month: "long" }) + ", " +
        (week.loading ? t("choose.loading_short") : plural("choose.count", count));
      button.appendChild(dow);
      button.appendChild(document.createTextNode(" "));
      button.appendChild(dom);
      button.appendChild(more);
      button.disabled = week.loading || count === 0 || day < now;
      button.tabIndex = -1;
      button.addEventListener("click", pickDay);
      days.appendChild(button);
      if (!button.disabled && (day === state.day || !stop)) stop = day === state.day ? button : stop || button;
    }
    if (stop) stop.tabIndex = 0;
    if (focusedDay) {
      var again = days.querySelector("[data-day='" + focusedDay + "']");
      if (again && !again.disabled) again.focus();
    }
    drawTimes();
  }

  function pickDay(event) {
    var button = event.currentTarget;
    state.day = button.getAttribute("data-day");
    Array.prototype.forEach.call($("days").children, function (b) {
      b.setAttribute("aria-pressed", String(b === button));
      b.tabIndex = b === button ? 0 : -1;
    });
    hideMove();
    drawTimes();
  }

  function drawTimes() {
    var week = state.week;
    var container = $("slots");
    var focusedSlot = document.activeElement && document.activeElement.parentNode === container ? document.activeElement.getAttribute("data-slot-id") : null;
    container.textContent = "";
    var empty = $("slots-empty");
    var items = state.day ? week.days[state.day] || [] : [];
    if (week.loading) {
      $("times-title").textContent = "";
      say("slots-empty", function () { return t("choose.loading"); });
    } else if (week.failed) {
      $("times-title").textContent = "";
      say("slots-empty", function () { return t("choose.failed", { phone: clinicPhone() }); });
    } else if (!items.length) {
      $("times-title").textContent = "";
      say("slots-empty", function () {
        return state.visitType ? t("choose.none_week_visit", { visit: visitLabel(state.visitType) }) : t("choose.none_week");
      });
    } else {
      say("slots-empty", null);
      $("times-title").textContent = t("choose.times_on", { day: dayLabel(state.day, { weekday: "long", month: "long", day: "numeric" }) });
    }
    empty.hidden = !empty.textContent;
    $("times-title").hidden = !$("times-title").textContent;
    $("times-hint").hidden = !items.length;
    // More than one place this week: each time says where.
    var places = {};
    week.items.forEach(function (slot) { places[slot.location_id] = true; });
    var manyPlaces = Object.keys(places).length > 1;
    var stop = null;
    items.forEach(function (slot) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "slot";
      button.setAttribute("data-slot-id", String(slot.id));
      var chosen = state.chosen && state.chosen.id === slot.id;
      button.setAttribute("aria-pressed", String(Boolean(chosen)));
      button.tabIndex = -1;
      var time = document.createElement("span");
      time.className = "time";
      time.textContent = timeOf(slot.start, slot.timezone);
      button.appendChild(time);
      var who = [];
      if (!state.providerId) who.push(slot.provider.name);
      var place = findLocation(slot.location_id);
      if (manyPlaces && place) who.push(place.name);
      if (who.length) {
        button.appendChild(document.createTextNode(" "));
        var whoNode = document.createElement("span");
        whoNode.className = "who";
        whoNode.textContent = who.join(" · ");
        button.appendChild(whoNode);
      }
      var when = document.createElement("span");
      when.className = "sr-only";
      when.textContent = ", " + dayOf(slot.start, slot.timezone);
      button.appendChild(when);
      button.addEventListener("click", function () { choose(slot, button); });
      container.appendChild(button);
      if (chosen || !stop) stop = chosen ? button : stop || button;
    });
    if (stop) stop.tabIndex = 0;
    if (focusedSlot) {
      var again = container.querySelector("[data-slot-id='" + focusedSlot + "']");
      if (again) again.focus();
    }
  }

  // Arrow keys move between the buttons of a group (days, times) laid out in rows; the group is
  // one stop for Tab.
  function rove(container) {
    container.addEventListener("keydown", function (event) {
      var items = Array.prototype.filter.call(container.querySelectorAll("button"), function (b) { return !b.disabled; });
      var at = items.indexOf(document.activeElement);
      if (at < 0) return;
      var columns = 1;
      while (columns < items.length && items[columns].offsetTop === items[0].offsetTop) columns += 1;
      var next;
      switch (event.key) {
        case "ArrowRight": next = at + 1; break;
        case "ArrowLeft": next = at - 1; break;
        case "ArrowDown": next = at + columns; break;
        case "ArrowUp": next = at - columns; break;
        case "Home": next = 0; break;
        case "End": next = items.length - 1; break;
        default: return;
      }
      event.preventDefault();
      next = Math.max(0, Math.min(items.length - 1, next));
      items.forEach(function (b) { b.tabIndex = b === items[next] ? 0 : -1; });
      items[next].focus();
    });
  }

  // A slot, or a booking's visit, from its start to its end (with a visit type, the items of
  // /slots and the booking's slot end where the visit does).
  function describe(slot) {
    return t("when.range", {
      day: dayOf(slot.start, slot.timezone),
      start: timeOf(slot.start, slot.timezone),
      end: timeOf(slot.end, slot.timezone, true)
    });
  }

  function choose(slot, button) {
    Array.prototype.forEach.call($("slots").querySelectorAll("button.slot"), function (b) {
      b.setAttribute("aria-pressed", String(b === button));
      b.tabIndex = b === button ? 0 : -1;
    });
    state.chosen = slot;
    if (state.manage && state.manage.moving) {
      askMove(slot, true);
      return;
    }
    $("details").hidden = false;
    showChosen();
    keep(slot);
    focusField($("name"));
  }

  // A field takes the focus in the middle of the screen, clear of the sticky summary above it.
  function focusField(field) {
    field.focus({ preventScroll: true });
    field.scrollIntoView({ block: "center" });
  }

  // The chosen time, provider, visit type and place, kept in view above the form: short, so
  // that it leaves the phone's screen to the form.
  function showChosen() {
    var slot = state.chosen;
    var place = findLocation(slot.location_id);
    var where = place ? place.name : "";
    var text = t("chosen.text", {
      visit: state.visitType ? visitLabel(state.visitType) : t("visit.appointment"),
      when: t("when.range", {
        day: format(slot.start, slot.timezone, { weekday: "short", month: "short", day: "numeric" }),
        start: timeOf(slot.start, slot.timezone),
        end: timeOf(slot.end, slot.timezone, true)
      }),
      provider: slot.provider.name
    });
    $("chosen").textContent = text + (where ? " " + t("chosen.where", { where: where }) : "");
  }

  // Holds: the chosen time is kept for this patient while they type; the countdown says for how
  // long. Choosing another time lets the previous one go in the same request (`replaces`, so
  // the two never race); leaving the page lets it go too.
  var holdAsked = 0;

  function stopCountdown() {
    if (state.hold) window.clearInterval(state.hold.timer);
    $("hold").hidden = true;
  }

  function release(token) {
    fetch("/api/v1/holds/current", { method: "DELETE", keepalive: true, headers: { "Authorization": "Bearer " + token } })
      .catch(function () {});
  }

  function letGo() {
    holdAsked += 1;
    stopCountdown();
    if (state.hold) release(state.hold.token);
    state.hold = null;
  }

  function clock(seconds) {
    var s = Math.max(0, seconds);
    return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }

  function keep(slot) {
    var visitTypeId = state.visitType ? state.visitType.id : undefined;
    var held = state.hold;
    // The same time again (a second click): it is held already.
    if (held && held.slotId === slot.id && held.visitTypeId === visitTypeId &&
        held.endsAt > Date.now()) return;
    var asked = holdAsked += 1;
    var body = { slot_id: slot.id, visit_type_id: visitTypeId, replaces: held ? held.token : undefined };
    stopCountdown();
    state.hold = null;
    api("/api/v1/holds", { method: "POST", body: body }).then(function (result) {
      if (asked !== holdAsked) {
        // The patient chose again, or left, meanwhile: this hold is not wanted.
        if (result.status === 201) release(result.body.token);
        return;
      }
      // Refused, the previous hold was not let go: it is still the patient's, to replace or
      // let go later.
      if (result.status !== 201) state.hold = held;
      if (result.status === 409) {
        // Someone else has it (or is booking it right now): say so and offer the others.
        $("details").hidden = true;
        state.chosen = null;
        loadWeek().then(function () {
          say("choose-error", function () { return refusal(result, "refusal.slot_taken"); });
          $("choose-error").focus();
        });
        return;
      }
      if (result.status !== 201) return; // Booking still works without a hold.
      var hold = {
        token: result.body.token,
        slotId: slot.id,
        visitTypeId: visitTypeId,
        endsAt: Date.now() + result.body.seconds_left * 1000,
        words: "hold.holding"
      };
      state.hold = hold;
      say("hold-text", function () { return t(hold.words); });
      $("hold").hidden = false;
      var tick = function () {
        var left = Math.round((hold.endsAt - Date.now()) / 1000);
        $("hold-timer").textContent = left > 0 ? clock(left) : "";
        if (left <= 60 && left > 0 && hold.words === "hold.holding") {
          hold.words = "hold.last_minute";
          say("hold-text", function () { return t(hold.words); });
        }
        if (left <= 0) {
          window.clearInterval(hold.timer);
          hold.words = "hold.expired";
          say("hold-text", function () { return t(hold.words); });
        }
      };
      tick();
      hold.timer = window.setInterval(tick, 1000);
    }).catch(function () {});
  }

  // Step 3: the patient's details ----------------------------------------------------------------------

  var fields = ["name", "email", "phone", "date_of_birth", "reason"];

  // The form's own checks, in its order, before anything is sent: field → the text's key.
  function check() {
    var errors = {};
    var value = function (id) { return $(id).value.trim(); };
    if (!value("name")) errors.name = "error.name.missing";
    else if (value("name").length > 100) errors.name = "error.name.invalid";
    if (!value("email")) errors.email = "error.email.missing";
    else if (!/^[^\s@"]+@[^\s@]+\.[^\s@]+$/.test(value("email"))) errors.email = "error.email.invalid";
    var phone = value("phone");
    if (phone) {
      var digits = phone.replace(/\D/g, "").length;
      if (!/^\+?[0-9 ().-]+$/.test(phone) || digits < 7 || digits > 15) errors.phone = "error.phone.invalid";
    }
    var born = value("date_of_birth");
    if (born && (!/^\d{4}-\d{2}-\d{2}$/.test(born) || born < "1900-01-01" || born >= dayInZone(new Date(), clinicZone()))) {
      errors.date_of_birth = "error.date_of_birth.invalid";
    }
    if (value("reason").length > 1000) errors.reason = "error.reason.invalid";
    return errors;
  }

  // Each invalid field says why beside it (aria-describedby, aria-invalid, a red border), the
  // summary above the fields is announced, and the first invalid field in the form's order
  // takes the focus.
  function showFieldErrors(errors, moveFocus) {
    state.fieldErrors = errors;
    var wrong = [];
    var first = null;
    fields.forEach(function (field) {
      var key = errors[field];
      $(field + "-error").textContent = key ? t(key) : "";
      if (key) {
        $(field).setAttribute("aria-invalid", "true");
        wrong.push(t("field." + field));
        if (!first) first = $(field);
      } else {
        $(field).removeAttribute("aria-invalid");
      }
    });
    $("error-summary").textContent = wrong.length ? plural("error.summary", wrong.length, { fields: list(wrong) }) : "";
    if (first && moveFocus) focusField(first);
    return Boolean(first);
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  function submit(event) {
    event.preventDefault();
    say("form-error", null);
    if (!state.chosen) return;
    if (showFieldErrors(check(), true)) return;
    var value = function (id) { var v = $(id).value.trim(); return v === "" ? undefined : v; };
    var body = {
      slot_id: state.chosen.id,
      visit_type_id: state.visitType ? state.visitType.id : undefined,
      patient: {
        name: $("name").value,
        email: $("email").value,
        phone: value("phone"),
        date_of_birth: value("date_of_birth"),
        // Every mail and text about the booking is written in it.
        language: state.lang
      },
      reason: value("reason"),
      source: state.source || undefined,
      company_website: value("company_website"),
      hold_token: state.hold ? state.hold.token : undefined
    };
    $("submit").disabled = true;
    api("/api/v1/bookings", { method: "POST", body: body, idempotencyKey: state.key || (state.key = newKey()) })
      .then(function (result) {
        $("submit").disabled = false;
        if (result.status === 201) {
          state.key = null;
          // The hold became this booking.
          stopCountdown();
          state.hold = null;
          holdAsked += 1;
          booked(result.body);
          return;
        }
        state.key = null;
        if (result.status === 422 && result.body.errors) {
          var errors = {};
          var other = [];
          Object.keys(result.body.errors).forEach(function (key) {
            var field = key.replace(/^patient\./, "");
            if (fields.indexOf(field) === -1) { other.push(result.body.errors[key]); return; }
            errors[field] = "error." + field + (/required/.test(String(result.body.errors[key])) ? ".missing" : ".invalid");
          });
          if (showFieldErrors(errors, true)) return;
          say("form-error", function () { return state.lang === "en" && other.length ? other.join("; ") : t("error.generic", { phone: clinicPhone() }); });
          $("form-error").focus();
          return;
        }
        // A 409 says why (the time was taken, or the visit type is for returning patients):
        // show it where the patient is looking, and refresh the times.
        say("form-error", function () { return refusal(result, "error.generic"); });
        $("form-error").focus();
        if (result.status === 409 && result.body.slot_id !== undefined) loadWeek();
      })
      .catch(function () {
        $("submit").disabled = false;
        say("form-error", function () { return t("error.network"); });
        $("form-error").focus();
      });
  }

  function visitOf(booking) {
    return {
      start: booking.slot.start,
      end: booking.slot.end,
      provider: booking.provider,
      timezone: booking.slot.timezone
    };
  }

  function manageHref(reference, token) {
    return "/book?reference=" + encodeURIComponent(reference) + "&token=" + encodeURIComponent(token) + "&lang=" + state.lang;
  }

  function details(dl, rows) {
    dl.textContent = "";
    rows.forEach(function (row) {
      var dt = document.createElement("dt");
      dt.textContent = row[0];
      var dd = document.createElement("dd");
      if (row[2]) {
        var link = document.createElement("a");
        link.href = row[2];
        link.textContent = row[1];
        dd.appendChild(link);
      } else {
        dd.textContent = row[1];
      }
      if (row[3]) dd.id = row[3];
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
  }

  function tel(phone) { return "tel:" + String(phone).replace(/[^0-9+]/g, ""); }

  function bookingRows(booking) {
    var rows = [];
    rows.push([t("details.visit"), booking.visit_type ? visitLabel(booking.visit_type) : t("visit.appointment"), null, "done-visit-type"]);
    rows.push([t("details.when"), describe(visitOf(booking)), null, "done-text"]);
    rows.push([t("details.with"), booking.provider.name + (booking.provider.title ? ", " + booking.provider.title : "")]);
    if (booking.location) {
      rows.push([t("details.where"), booking.location.name + ", " + booking.location.address]);
      rows.push([t("details.phone"), booking.location.phone, tel(booking.location.phone)]);
    }
    return rows;
  }

  // Booked: the page becomes the confirmation, with the focus on its title.
  function booked(booking) {
    state.booking = booking;
    state.chosen = null;
    ["visit", "choose", "details", "lead"].forEach(function (id) { $(id).hidden = true; });
    $("done").hidden = false;
    showDone(booking);
    $("title").focus();
  }

  function showDone(booking) {
    say("title", function () { return t("done.title"); });
    var rows = bookingRows(booking);
    rows.push([t("details.reference"), booking.reference, null, "done-reference"]);
    details($("done-details"), rows);
    var phone = booking.location ? booking.location.phone : clinicPhone();
    $("done-next-call").textContent = t("done.next_call", { phone: phone });
    $("done-manage").href = manageHref(booking.reference, booking.manage_token);
  }

  // "Add to calendar": the booking's .ics, fetched with its manage token (a plain link cannot
  // carry it) and offered as a download.
  function addToCalendar(reference, token, errorId) {
    say(errorId, null);
    fetch("/api/v1/bookings/" + encodeURIComponent(reference) + "/calendar.ics", {
      headers: { "Accept": "text/calendar", "Authorization": "Bearer " + token }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(new Blob([blob], { type: "text/calendar" }));
      var link = document.createElement("a");
      link.href = url;
      link.download = reference + ".ics";
      link.hidden = true;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    }).catch(function () {
      say(errorId, function () { return t("calendar.error"); });
    });
  }

  // The manage view -----------------------------------------------------------------------------------

  function showBooking(booking) {
    var rows = [[t("details.reference"), booking.reference]];
    bookingRows(booking).forEach(function (row) { rows.push([row[0], row[1], row[2]]); });
    rows.push([t("details.status"), t("status." + booking.status)]);
    details($("manage-details"), rows);
    var active = booking.status === "booked";
    $("manage-actions").hidden = !active;
    $("manage-cancel-zone").hidden = !active || !$("cancel-confirm").hidden;
    if (!active) $("cancel-confirm").hidden = true;
    if (!$("cancel-confirm").hidden) {
      $("cancel-question").textContent = t("cancel.question", { when: describe(visitOf(booking)) });
    }
  }

  function showHelp(textWords, bookKey, phone) {
    $("help").hidden = false;
    say("help-text", textWords);
    say("help-book", function () { return t(bookKey); });
    var again = new URLSearchParams();
    again.set("lang", state.lang);
    var m = state.manage;
    if (m && m.booking && m.booking.visit_type) again.set("visit_type_id", String(m.booking.visit_type.id));
    $("help-book").href = "/book?" + again.toString();
    var call = $("help-call");
    call.hidden = !phone;
    if (phone) {
      call.href = tel(phone);
      say("help-call", function () { return t("help.call", { phone: phone }); });
    }
  }

  function loadBooking() {
    var m = state.manage;
    return api("/api/v1/bookings/" + encodeURIComponent(m.reference), { token: m.token }).then(function (result) {
      if (result.status !== 200) {
        // Expired or not a link of ours: what to do, and how to reach the clinic.
        say("title", function () { return t("bad.title"); });
        say("problem", function () { return t("bad.message"); });
        showHelp(function () { return t("bad.help", { phone: clinicPhone() }); }, "help.book", clinicPhone());
        $("problem").focus();
        return;
      }
      m.booking = result.body;
      // Moving it offers only times where its own visit type fits.
      state.visitType = result.body.visit_type;
      var adopt = !params.get("lang") && !state.switched && LANGUAGES.indexOf(result.body.language) !== -1 &&
        result.body.language !== state.lang;
      $("manage").hidden = false;
      showBooking(result.body);
      return adopt ? setLanguage(result.body.language) : null;
    }, function () {
      say("problem", function () { return t("error.network"); });
      $("problem").focus();
    });
  }

  function askMove(slot, moveFocus) {
    var m = state.manage;
    m.pendingMove = slot;
    $("move-confirm").hidden = false;
    $("move-question").textContent = t("move.question", { when: describe(slot), provider: slot.provider.name });
    if (moveFocus) $("move-question").focus();
  }

  function hideMove() {
    if (state.manage) state.manage.pendingMove = null;
    $("move-confirm").hidden = true;
  }

  function moveTo(slot) {
    var m = state.manage;
    $("move-yes").disabled = true;
    api("/api/v1/bookings/" + encodeURIComponent(m.reference) + "/reschedule",
        { method: "POST", token: m.token, body: { slot_id: slot.id } })
      .then(function (result) {
        $("move-yes").disabled = false;
        if (result.status === 200) {
          m.moving = false;
          hideMove();
          state.chosen = null;
          $("choose").hidden = true;
          m.booking = result.body;
          showBooking(result.body);
          say("problem", null);
          var moved = result.body;
          say("status", function () { return t("moved.message", { when: describe(visitOf(moved)) }); });
          $("status").focus();
        } else {
          hideMove();
          say("choose-error", function () { return refusal(result, "refusal.move"); });
          $("choose-error").focus();
          loadWeek();
        }
      }, function () {
        $("move-yes").disabled = false;
        say("choose-error", function () { return t("error.network"); });
        $("choose-error").focus();
      });
  }

  function askCancel() {
    var m = state.manage;
    $("cancel-confirm").hidden = false;
    $("manage-cancel-zone").hidden = true;
    $("cancel-question").textContent = t("cancel.question", { when: describe(visitOf(m.booking)) });
    $("cancel-question").focus();
  }

  function cancel() {
    var m = state.manage;
    $("cancel-yes").disabled = true;
    api("/api/v1/bookings/" + encodeURIComponent(m.reference) + "/cancel", { method: "POST", token: m.token })
      .then(function (result) {
        $("cancel-yes").disabled = false;
        $("cancel-confirm").hidden = true;
        if (result.status === 200) {
          m.booking = result.body;
          m.moving = false;
          $("choose").hidden = true;
          showBooking(result.body);
          var phone = result.body.location ? result.body.location.phone : clinicPhone();
          say("status", function () { return t("cancelled.message"); });
          showHelp(function () { return t("cancelled.help", { phone: phone }); }, "cancelled.book_again", phone);
          $("status").focus();
        } else {
          showBooking(m.booking);
          say("problem", function () { return refusal(result, "refusal.cancel"); });
          $("problem").focus();
        }
      }, function () {
        $("cancel-yes").disabled = false;
        say("problem", function () { return t("error.network"); });
        $("problem").focus();
      });
  }

  // Wiring ------------------------------------------------------------------------------------------

  rove($("days"));
  rove($("slots"));
  Array.prototype.forEach.call(document.querySelectorAll(".lang-option"), function (button) {
    button.addEventListener("click", function () {
      state.switched = true;
      setLanguage(button.getAttribute("data-lang"));
    });
  });
  $("provider").addEventListener("change", function () {
    state.providerId = $("provider").value;
    loadWeek();
  });
  $("prev-week").addEventListener("click", function () {
    state.weekStart = addDays(state.weekStart, -7);
    if (state.weekStart < today()) state.weekStart = today();
    state.day = null;
    loadWeek();
  });
  $("next-week").addEventListener("click", function () {
    state.weekStart = addDays(state.weekStart, 7);
    state.day = null;
    loadWeek();
  });
  $("details").addEventListener("submit", submit);
  $("visit-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var checked = document.querySelector("input[name=visit_type]:checked");
    if (!checked) {
      say("visit-error", function () { return t("visit.error"); });
      var first = document.querySelector("input[name=visit_type]");
      if (first) first.focus();
      return;
    }
    chooseVisitType(findVisitType(checked.value), true);
  });
  $("visit-change").addEventListener("click", function () {
    letGo();
    state.chosen = null;
    $("choose").hidden = true;
    $("details").hidden = true;
    $("visit").hidden = false;
    var checked = document.querySelector("input[name=visit_type]:checked");
    (checked || $("visit-title")).focus();
  });
  $("manage-cancel").addEventListener("click", askCancel);
  $("cancel-yes").addEventListener("click", cancel);
  $("cancel-no").addEventListener("click", function () {
    $("cancel-confirm").hidden = true;
    $("manage-cancel-zone").hidden = false;
    $("manage-cancel").focus();
  });
  $("move-yes").addEventListener("click", function () {
    if (state.manage && state.manage.pendingMove) moveTo(state.manage.pendingMove);
  });
  $("move-no").addEventListener("click", function () {
    hideMove();
    var pressed = $("slots").querySelector("button[aria-pressed=true]");
    (pressed || $("times-title")).focus();
  });
  $("manage-calendar").addEventListener("click", function () {
    addToCalendar(state.manage.reference, state.manage.token, "manage-calendar-error");
  });
  $("done-calendar").addEventListener("click", function () {
    addToCalendar(state.booking.reference, state.booking.manage_token, "done-calendar-error");
  });
  // Leaving the page lets the held time go at once, rather than when the hold expires.
  window.addEventListener("pagehide", letGo);
  $("manage-reschedule").addEventListener("click", function () {
    var m = state.manage;
    m.moving = true;
    say("status", null);
    say("problem", null);
    $("help").hidden = true;
    state.weekStart = today();
    state.day = null;
    state.chosen = null;
    $("choose").hidden = false;
    $("choose-title").setAttribute("data-i18n", "choose.title_move");
    $("choose-title").textContent = t("choose.title_move");
    $("visit-change").hidden = true;
    $("visit-summary").hidden = !state.visitType;
    if (state.visitType) $("visit-summary-text").textContent = visitLabel(state.visitType);
    fillProviders();
    loadWeek();
    $("choose-title").focus();
  });

  var language = setLanguage(preferredLanguage());
  var ready = Promise.all([language, loadVisitTypes(), loadProviders(), loadLocations(), loadPolicy()]);
  ready.then(function () {
    showPolicy();
    if (state.manage) {
      $("title").setAttribute("data-i18n", "title.manage");
      $("title").textContent = t("title.manage");
      $("lead").hidden = true;
      return loadBooking();
    }
    if (state.visitTypes.length > 0) {
      $("visit").hidden = false;
      showVisitTypes();
      var wanted = findVisitType(params.get("visit_type_id"));
      if (wanted) {
        $("visit-type-" + wanted.id).checked = true;
        chooseVisitType(wanted, false);
      }
      return null;
    }
    // A clinic without visit types: times first, as before them.
    $("lead").setAttribute("data-i18n", "lead.times_first");
    $("choose-title").setAttribute("data-i18n", "choose.title_first");
    $("details-title").setAttribute("data-i18n", "details.title_second");
    applyStatic();
    $("visit-summary").hidden = true;
    $("choose").hidden = false;
    state.weekStart = firstWeek();
    fillProviders();
    loadWeek();
    return null;
  });
})();
