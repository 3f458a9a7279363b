// The front-desk console: the day sheet (per provider and location, with one-click arrived,
// completed and no-show, notes and red flags), patient search and records, booking by phone
// (earliest times that fit, courses of care), moving and cancelling under the booking rules with
// a staff override that asks for the reason, blocking a slot or a range, and, for admins, the
// mail queue. The sheet polls every few seconds and redraws only the rows that changed, so
// another desk's change shows without a reload. Plain JavaScript against the API; the staff
// token lives in sessionStorage (gone when the tab closes), never in localStorage.
(function () {
  "use strict";

  var TOKEN_KEY = "clinic-desk-session";
  var FILTERS_KEY = "clinic-desk-filters";
  // A preference, not a secret: whether single-key shortcuts are on (WCAG 2.1.4 lets people
  // who dictate or use a switch turn them off).
  var SHORTCUTS_KEY = "clinic-desk-shortcuts";
  var POLL_MS = 4000;
  var HOUR = 3600 * 1000;
  var SESSION_ENDED = { sessionEnded: true };

  var state = {
    token: null,
    claims: null,
    providers: [],
    locations: [],
    visitTypes: [],
    policies: {},
    clinicTz: "UTC",
    today: null,
    date: null,
    providerId: "",
    locationId: "",
    sheet: null,
    sheetText: "",
    selected: null,
    loading: false,
    pollTimer: null,
    patient: null,
    patientsMissing: false,
    book: { patient: null, chosen: null, nextFrom: null, key: null, asked: 0 },
    moving: null,
    moveTo: null,
    cancelling: null,
    noting: null,
    returnFocus: null,
    blocked: {}
  };

  function $(id) { return document.getElementById(id); }

  // A small element builder: el("li", {className: "x", dataset: {a: 1}}, ["text", child]).
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === undefined || value === null) return;
      if (key === "dataset") Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
      else if (key === "attrs") Object.keys(value).forEach(function (k) { node.setAttribute(k, value[k]); });
      else if (key === "on") Object.keys(value).forEach(function (k) { node.addEventListener(k, value[k]); });
      else node[key] = value;
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function hiddenText(text) { return el("span", { className: "visually-hidden" }, [text]); }

  // ---- The API ----------------------------------------------------------------------------

  function api(path, options) {
    options = options || {};
    var headers = { "Accept": "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (state.token) headers["Authorization"] = "Bearer " + state.token;
    if (options.key) headers["Idempotency-Key"] = options.key;
    var sentWith = state.token;
    return fetch(path, {
      method: options.method || "GET",
      headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store"
    }).then(function (response) {
      return response.text().then(function (text) {
        var body = {};
        try { body = text ? JSON.parse(text) : {}; } catch (e) { body = {}; }
        if (response.status === 401 && sentWith) {
          sessionEnded("Your login has ended. Please log in again.");
          throw SESSION_ENDED;
        }
        return { status: response.status, body: body };
      });
    }, function () {
      return { status: 0, body: { detail: "The clinic's server could not be reached. Check the connection and try again." } };
    });
  }

  function ignoreEnded(error) {
    if (error !== SESSION_ENDED) throw error;
  }

  // A path the server does not know (a 404 whose detail is "METHOD /path"): a feature this
  // server has not got yet, such as patient records on an older version.
  function unknownRoute(result) {
    return result.status === 404 && /^(GET|POST|PATCH|PUT|DELETE) \//.test(result.body.detail || "");
  }

  // A problem document, shown where the person is looking: its detail, each invalid field's
  // message, and the focus on it (unless `quiet`).
  function showProblem(target, result, fallback, quiet) {
    var body = result.body || {};
    var text = body.detail || fallback || "Something went wrong. Please try again.";
    if (body.errors) {
      text += ": " + Object.keys(body.errors).map(function (k) { return k + ": " + body.errors[k]; }).join("; ");
    }
    target.textContent = text;
    if (!quiet) target.focus();
  }

  function announce(text) {
    var region = $("announce");
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  // ---- Times and dates --------------------------------------------------------------------

  // "2026-11-26T08:00:00-07:00" is already the wall-clock time where the visit is.
  function localTime(stamp) {
    var hours = parseInt(stamp.slice(11, 13), 10);
    var minutes = stamp.slice(14, 16);
    return ((hours + 11) % 12 + 1) + ":" + minutes + " " + (hours >= 12 ? "PM" : "AM");
  }

  function dayLabel(date, short) {
    return new Date(date + "T12:00:00Z").toLocaleDateString("en-US", short
      ? { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" }
      : { weekday: "long", month: "long", day: "numeric", year: "numeric", timeZone: "UTC" });
  }

  function addDays(date, days) {
    var d = new Date(date + "T12:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  function zoneParts(ms, tz) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    return parts;
  }

  function todayIn(tz) {
    var p = zoneParts(Date.now(), tz);
    return p.year + "-" + p.month + "-" + p.day;
  }

  // Minutes `tz` is ahead of UTC at the instant `ms`.
  function offsetAt(ms, tz) {
    var p = zoneParts(ms, tz);
    return (Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) - ms) / 60000;
  }

  // A datetime-local value read as the wall clock in `tz`, as an RFC 3339 instant in UTC.
  function zonedToUtc(local, tz) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local);
    if (!m) return null;
    var guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    var ms = guess - offsetAt(guess, tz) * 60000;
    ms = guess - offsetAt(ms, tz) * 60000;
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  // An instant (UTC) as the clinic's wall clock: "Nov 26, 10:02 AM".
  function clinicTime(instant) {
    if (!instant) return "";
    return new Date(instant).toLocaleString("en-US", {
      timeZone: state.clinicTz, month: "short", day: "numeric", hour: "numeric", minute: "2-digit"
    });
  }

  function visitWhen(slot) {
    return dayLabel(slot.local_start.slice(0, 10), true) + ", " + localTime(slot.local_start);
  }

  var STATUS_NAMES = {
    booked: "Booked", arrived: "Arrived", completed: "Completed", no_show: "No-show", cancelled: "Cancelled"
  };

  function statusName(status) { return STATUS_NAMES[status] || status; }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function inWords(minutes) {
    if (minutes % 1440 === 0 && minutes >= 1440) return plural(minutes / 1440, "day", "days");
    if (minutes % 60 === 0 && minutes >= 60) return plural(minutes / 60, "hour", "hours");
    return plural(minutes, "minute", "minutes");
  }

  // ---- Session ----------------------------------------------------------------------------

  function decodeClaims(token) {
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      while (part.length % 4) part += "=";
      return JSON.parse(decodeURIComponent(Array.prototype.map.call(window.atob(part), function (c) {
        return "%" + ("00" + c.charCodeAt(0).toString(16)).slice(-2);
      }).join("")));
    } catch (e) {
      return null;
    }
  }

  function sessionEnded(message) {
    window.sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.claims = null;
    stopPolling();
    Array.prototype.forEach.call(document.querySelectorAll("dialog[open]"), function (d) { d.close(); });
    $("desk").hidden = true;
    $("who").hidden = true;
    $("skip").hidden = true;
    $("login").hidden = false;
    $("login-note").textContent = message || "";
    $("login-password").value = "";
    $("login-email").focus();
  }

  function login(event) {
    event.preventDefault();
    $("login-error").textContent = "";
    var email = $("login-email").value.trim();
    var password = $("login-password").value;
    if (!email || !password) {
      $("login-error").textContent = "Enter your email and password.";
      $("login-error").focus();
      return;
    }
    $("login-submit").disabled = true;
    state.token = null;
    api("/api/v1/auth/login", { method: "POST", body: { email: email, password: password } }).then(function (result) {
      $("login-submit").disabled = false;
      if (result.status !== 200) {
        showProblem($("login-error"), result, "The email or password is wrong.");
        return;
      }
      window.sessionStorage.setItem(TOKEN_KEY, result.body.access_token);
      $("login-password").value = "";
      start(result.body.access_token, true);
    }).catch(ignoreEnded);
  }

  function logout() {
    sessionEnded("You have logged out.");
  }

  function start(token, fromLogin) {
    state.token = token;
    state.claims = decodeClaims(token) || {};
    if (state.claims.exp && state.claims.exp * 1000 < Date.now()) {
      sessionEnded("Your login has ended. Please log in again.");
      return;
    }
    var role = state.claims.role || "";
    $("who-text").textContent = (state.claims.email || "") + " · " + role.replace("_", " ");
    $("who").hidden = false;
    $("skip").hidden = false;
    $("login").hidden = true;
    $("login-note").textContent = "";
    $("desk").hidden = false;
    $("tab-mail").hidden = role !== "admin";
    // Blocking time is for the front desk and admins; providers keep the sheet and book.
    $("tab-block").hidden = role === "provider";
    var saved = {};
    try { saved = JSON.parse(window.sessionStorage.getItem(FILTERS_KEY) || "{}"); } catch (e) { saved = {}; }
    state.providerId = saved.providerId || "";
    state.locationId = saved.locationId || "";
    loadReference().then(function () {
      return loadSheet({ first: true });
    }).then(function () {
      startPolling();
      if (fromLogin) $("sheet-title").focus();
      if (role === "admin") loadMail(true);
    }).catch(ignoreEnded);
  }

  // ---- Reference data ---------------------------------------------------------------------

  function loadReference() {
    return Promise.all([
      api("/api/v1/providers"),
      api("/api/v1/locations"),
      api("/api/v1/visit-types"),
      api("/api/v1/booking-policy")
    ]).then(function (results) {
      state.providers = results[0].body.items || [];
      state.locations = results[1].body.items || [];
      state.visitTypes = results[2].status === 200 ? results[2].body.items || [] : [];
      if (results[3].status === 200) state.policies[""] = results[3].body;
      if (state.locations.length) state.clinicTz = state.locations[0].timezone;
      fillSelect($("sheet-provider"), [{ value: "", label: "All providers" }].concat(providerOptions(state.providers)), state.providerId);
      fillSelect($("sheet-location"), [{ value: "", label: "All locations" }].concat(locationOptions()), state.locationId);
      $("sheet-location-field").hidden = state.locations.length < 2;
      $("book-location-field").hidden = state.locations.length < 2;
      fillSelect($("block-provider"), providerOptions(state.providers), "");
      fillSelect($("book-location"), [{ value: "", label: "Any location" }].concat(locationOptions()), "");
      var types = state.visitTypes.map(function (t) {
        return { value: String(t.id), label: t.name + " (" + t.duration_minutes + " min)" };
      });
      fillSelect($("book-type"), types, types.length ? types[0].value : "");
      $("book-type-field").hidden = types.length === 0;
      fillBookProviders();
      $("off-zone").textContent = "Times are the clinic's, " + state.clinicTz + ".";
    });
  }

  function providerOptions(providers) {
    return providers.map(function (p) { return { value: String(p.id), label: p.name + (p.title ? ", " + p.title : "") }; });
  }

  function locationOptions() {
    return state.locations.map(function (l) { return { value: String(l.id), label: l.name }; });
  }

  function fillSelect(select, options, value) {
    select.textContent = "";
    options.forEach(function (o) { select.appendChild(el("option", { value: o.value, textContent: o.label })); });
    var known = options.some(function (o) { return o.value === value; });
    select.value = known ? value : (options.length ? options[0].value : "");
  }

  function visitType(id) {
    return state.visitTypes.filter(function (t) { return String(t.id) === String(id); })[0] || null;
  }

  function providerName(id) {
    var p = state.providers.filter(function (x) { return String(x.id) === String(id); })[0];
    return p ? p.name : "";
  }

  // The booking rules a visit type follows (its own, or the clinic's).
  function policyFor(visitTypeId) {
    var key = visitTypeId ? String(visitTypeId) : "";
    if (state.policies[key]) return Promise.resolve(state.policies[key]);
    return api("/api/v1/booking-policy" + (key ? "?visit_type_id=" + encodeURIComponent(key) : "")).then(function (result) {
      if (result.status === 200) state.policies[key] = result.body;
      return state.policies[key] || state.policies[""] || null;
    });
  }

  // Which rules a time breaks for staff to set aside: the notice and the horizon.
  function rulesBrokenAt(startMs, policy) {
    if (!policy) return [];
    var now = Date.now();
    var broken = [];
    if (startMs < now + policy.min_notice_minutes * 60000) {
      broken.push("it starts in less than " + inWords(policy.min_notice_minutes) + ", the clinic's minimum notice");
    }
    if (startMs > now + policy.horizon_days * 24 * HOUR) {
      broken.push("it is beyond the " + plural(policy.horizon_days, "day", "days") + " the clinic books ahead");
    }
    return broken;
  }

  function withinCutoff(item, policy) {
    if (!policy) return false;
    return Date.parse(item.slot.start) - Date.now() < policy.cancel_cutoff_hours * HOUR;
  }

  // ---- The day sheet ----------------------------------------------------------------------

  function saveFilters() {
    window.sessionStorage.setItem(FILTERS_KEY, JSON.stringify({ providerId: state.providerId, locationId: state.locationId }));
  }

  function sheetPath() {
    var query = [];
    if (state.date) query.push("date=" + encodeURIComponent(state.date));
    if (state.providerId) query.push("provider_id=" + encodeURIComponent(state.providerId));
    if (state.locationId) query.push("location_id=" + encodeURIComponent(state.locationId));
    return "/api/v1/bookings" + (query.length ? "?" + query.join("&") : "");
  }

  // Reads the sheet; `quiet` (a poll) shows errors without moving the focus.
  function loadSheet(options) {
    options = options || {};
    if (!state.token) return Promise.resolve();
    state.loading = true;
    var asked = sheetPath();
    return api(asked).then(function (result) {
      state.loading = false;
      if (asked !== sheetPath()) return; // the desk changed the day or filter meanwhile
      if (result.status !== 200) {
        showProblem($("sheet-error"), result, "The day sheet could not be read.", options.quiet);
        return;
      }
      if (!options.quiet || $("sheet-error").textContent.indexOf("day sheet") !== -1) $("sheet-error").textContent = "";
      var text = JSON.stringify(result.body.items);
      var previous = state.sheet;
      var changed = text !== state.sheetText;
      state.sheet = result.body;
      state.sheetText = text;
      if (!state.date || options.first) {
        if (!state.locationId) state.clinicTz = result.body.timezone;
      }
      if (!state.today || options.today) state.today = todayIn(result.body.timezone);
      state.date = result.body.date;
      $("sheet-date").value = state.date;
      $("sheet-title").textContent = "Day sheet · " + dayLabel(state.date);
      $("sheet-updated").textContent = "Updated " + new Date().toLocaleTimeString("en-US", {
        timeZone: result.body.timezone, hour: "numeric", minute: "2-digit", second: "2-digit"
      });
      if (options.quiet && changed && previous && previous.date === result.body.date) announceChanges(previous.items, result.body.items);
      renderSheet();
    }, function (error) { state.loading = false; throw error; });
  }

  function announceChanges(before, after) {
    var old = {};
    before.forEach(function (item) { old[item.reference] = item; });
    var said = [];
    after.forEach(function (item) {
      var was = old[item.reference];
      if (!was) said.push(item.patient.name + " booked at " + localTime(item.slot.local_start));
      else if (was.status !== item.status) said.push(item.patient.name + ": " + statusName(item.status));
      else if ((was.notes || []).length !== (item.notes || []).length) said.push("new note for " + item.patient.name);
    });
    if (said.length) announce("Day sheet updated: " + said.slice(0, 3).join("; ") + (said.length > 3 ? "; and more" : ""));
  }

  function startPolling() {
    stopPolling();
    state.pollTimer = window.setInterval(function () {
      if (document.hidden || state.loading || !state.token) return;
      loadSheet({ quiet: true }).catch(ignoreEnded);
    }, POLL_MS);
  }

  function stopPolling() {
    if (state.pollTimer) window.clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  // What the desk can do with a visit now; the server decides, this only offers the likely ones.
  function actionsFor(item) {
    var start = Date.parse(item.slot.start);
    var now = Date.now();
    var actions = [];
    if (item.status === "booked") {
      if (now >= start - 12 * HOUR && now <= start + 12 * HOUR) actions.push("arrived");
      if (now >= start) actions.push("no_show");
    }
    if (item.status === "arrived") actions.push("completed");
    actions.push("note");
    if (item.status === "booked") actions.push("move", "cancel");
    return actions;
  }

  var ACTION_LABELS = {
    arrived: "Arrived", completed: "Completed", no_show: "No-show", note: "Note", move: "Move", cancel: "Cancel"
  };
  var ACTION_KEYS = { arrived: "a", completed: "c", no_show: "n", note: "e", move: "m", cancel: "x" };

  function visitTypeText(item) {
    return item.visit_type ? item.visit_type.name + " (" + item.visit_type.duration_minutes + " min)" : "Appointment";
  }

  var FLAG_NAMES = { numbness: "numbness", tingling: "tingling", weakness: "weakness", severe_pain: "severe pain" };
  var AREA_NAMES = { lower_back: "lower back", upper_back: "upper back", neck: "neck", other: "other" };

  function noteItem(note, actions) {
    var by = [note.author || "staff", clinicTime(note.updated_at || note.created_at)].filter(Boolean).join(", ");
    return el("li", { dataset: { noteId: String(note.id) } }, [
      note.booking_reference ? "" : el("strong", {}, ["Patient: "]),
      note.body, " ", el("span", { className: "by" }, ["— " + by])
    ].concat(actions || []));
  }

  function buildRow(item, signature) {
    var ref = item.reference;
    var titleId = "visit-" + ref;
    var context = ", " + item.patient.name + " at " + localTime(item.slot.local_start);
    var multiLocation = state.locations.length > 1 && !state.locationId;
    var parts = [visitTypeText(item), item.provider.name];
    if (multiLocation) parts.push(item.location.name);
    parts.push(ref);
    if (item.patient.phone) parts.push(item.patient.phone);
    var meta = [];
    parts.forEach(function (part, i) {
      if (i) meta.push(" · ");
      meta.push(el("span", {}, [part]));
    });
    var children = [
      el("div", { className: "name-line" }, [
        el("h3", { id: titleId }, [
          el("button", {
            type: "button", className: "link", dataset: { action: "patient" },
            textContent: item.patient.name
          }),
          hiddenText(" at " + localTime(item.slot.local_start) + ", " + statusName(item.status))
        ]),
        el("span", { className: "badge " + item.status, attrs: { "aria-hidden": "true" } }, [statusName(item.status)])
      ]),
      el("p", { className: "meta" }, meta)
    ];
    if (item.needs_review) {
      var flags = ((item.concern && item.concern.red_flags) || []).map(function (f) { return FLAG_NAMES[f] || f; });
      var area = item.concern && item.concern.area ? AREA_NAMES[item.concern.area] + ", " + item.concern.onset + " onset; " : "";
      children.push(el("p", { className: "flag" }, ["Review before the visit: " + area + "red flags: " + (flags.join(", ") || "reported")]));
    }
    if (item.reason) children.push(el("p", { className: "meta" }, ["Reason: " + item.reason]));
    if (item.notes && item.notes.length) {
      children.push(el("ul", { className: "notes", attrs: { "aria-label": "Notes" } }, item.notes.map(function (n) { return noteItem(n); })));
    }
    var primary = [];
    var secondary = [];
    actionsFor(item).forEach(function (action) {
      var step = action === "arrived" || action === "completed" || action === "no_show";
      (step ? primary : secondary).push(el("button", {
        type: "button",
        className: step ? "" : "quiet small",
        dataset: { action: action },
        attrs: { "aria-keyshortcuts": ACTION_KEYS[action] }
      }, [ACTION_LABELS[action], hiddenText(context)]));
    });
    return el("li", {
      className: "visit " + item.status + (state.selected === ref ? " selected" : ""),
      tabIndex: -1,
      dataset: { reference: ref, sig: signature },
      attrs: { "aria-labelledby": titleId }
    }, [
      el("div", { className: "when" }, [localTime(item.slot.local_start), el("span", {}, ["to " + localTime(item.slot.local_end)])]),
      el("div", { className: "who" }, children),
      el("div", { className: "actions" }, [
        el("div", { className: "primary" }, primary),
        el("div", { className: "secondary" }, secondary)
      ])
    ]);
  }

  function rowOf(ref) {
    return document.querySelector('#sheet-list li[data-reference="' + ref + '"]');
  }

  function itemOf(ref) {
    if (!state.sheet) return null;
    return state.sheet.items.filter(function (i) { return i.reference === ref; })[0] || null;
  }

  // Redraws only rows whose content (or whose possible actions, which move with the clock)
  // changed, and puts the focus back where it was if a redrawn row held it.
  function renderSheet() {
    var list = $("sheet-list");
    var items = state.sheet ? state.sheet.items : [];
    var active = document.activeElement;
    var focusRef = null;
    var focusAction = null;
    if (active && list.contains(active)) {
      var row = active.closest("li.visit");
      focusRef = row && row.dataset.reference;
      focusAction = active === row ? "row" : active.dataset.action || "row";
    }
    var force = Boolean(state.focusAfter);
    if (force) {
      focusRef = state.focusAfter.ref;
      focusAction = state.focusAfter.action;
      state.focusAfter = null;
    }
    var old = {};
    Array.prototype.forEach.call(list.children, function (li) { old[li.dataset.reference] = li; });
    var nodes = items.map(function (item) {
      var signature = JSON.stringify(item) + "|" + actionsFor(item).join(",") + "|" + state.locationId;
      var existing = old[item.reference];
      if (existing && existing.dataset.sig === signature) return existing;
      return buildRow(item, signature);
    });
    var keep = nodes.filter(function (n) { return n.parentNode === list; });
    Array.prototype.slice.call(list.children).forEach(function (li) {
      if (keep.indexOf(li) === -1) list.removeChild(li);
    });
    nodes.forEach(function (node, i) {
      if (list.children[i] !== node) list.insertBefore(node, list.children[i] || null);
    });
    Array.prototype.forEach.call(list.children, function (li) {
      li.classList.toggle("selected", li.dataset.reference === state.selected);
    });
    $("sheet-empty").hidden = items.length > 0;
    summarize(items);
    // A redrawn row took the focus with it (it falls to the body): put it back in the new row.
    var lost = !document.activeElement || document.activeElement === document.body;
    if (focusRef && (force || lost)) {
      var target = rowOf(focusRef);
      if (target) {
        var button = focusAction && focusAction !== "row" && target.querySelector('[data-action="' + focusAction + '"]');
        (button || target.querySelector(".actions button") || target).focus();
      }
    }
  }

  function summarize(items) {
    var count = {};
    items.forEach(function (i) { count[i.status] = (count[i.status] || 0) + 1; });
    var live = items.length - (count.cancelled || 0);
    var review = items.filter(function (i) { return i.needs_review && i.status === "booked"; }).length;
    var parts = [plural(live, "visit", "visits"), (count.booked || 0) + " to come", (count.arrived || 0) + " here now",
      (count.completed || 0) + " completed", plural(count.no_show || 0, "no-show", "no-shows")];
    if (count.cancelled) parts.push(count.cancelled + " cancelled");
    if (review) parts.push(plural(review, "red flag to review", "red flags to review"));
    $("sheet-summary").textContent = parts.join(" · ");
  }

  function select(ref, focus) {
    state.selected = ref;
    Array.prototype.forEach.call($("sheet-list").children, function (li) {
      li.classList.toggle("selected", li.dataset.reference === ref);
    });
    var row = rowOf(ref);
    if (row && focus) {
      row.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function moveSelection(step) {
    var rows = Array.prototype.slice.call($("sheet-list").children);
    if (!rows.length) return;
    var at = rows.findIndex(function (r) { return r.dataset.reference === state.selected; });
    var next = at === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, at + step));
    select(rows[next].dataset.reference, true);
  }

  function setStatus(ref, status) {
    var item = itemOf(ref);
    if (!item) return;
    $("sheet-error").textContent = "";
    api("/api/v1/bookings/" + encodeURIComponent(ref), { method: "PATCH", body: { status: status } }).then(function (result) {
      if (result.status !== 200) {
        showProblem($("sheet-error"), result, "The status could not be changed.");
        return;
      }
      replaceItem(ref, result.body);
      state.focusAfter = { ref: ref, action: status === "arrived" ? "completed" : "row" };
      renderSheet();
      announce(item.patient.name + ": " + statusName(status));
      loadSheet({ quiet: true });
    }).catch(ignoreEnded);
  }

  // A booking as an answer shows it, kept with what only the sheet has (its notes, its patient).
  function replaceItem(ref, booking) {
    if (!state.sheet) return;
    state.sheet.items = state.sheet.items.map(function (item) {
      return item.reference === ref ? Object.assign({}, item, booking, {
        notes: booking.notes || item.notes,
        patient_id: booking.patient_id || item.patient_id
      }) : item;
    });
    state.sheetText = JSON.stringify(state.sheet.items);
  }

  function act(ref, action, invoker) {
    var item = itemOf(ref);
    if (!item) return;
    select(ref, false);
    if (action === "arrived" || action === "completed" || action === "no_show") setStatus(ref, action);
    else if (action === "note") openNote(item, invoker);
    else if (action === "move") openMove(item, invoker);
    else if (action === "cancel") openCancel(item, invoker);
    else if (action === "patient") openPatientOf(item);
  }

  function onSheetClick(event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var row = button.closest("li.visit");
    act(row.dataset.reference, button.dataset.action, button);
  }

  function setDate(date) {
    state.date = date;
    state.selected = null;
    loadSheet().catch(ignoreEnded);
  }

  // ---- Tabs -------------------------------------------------------------------------------

  var TABS = ["patients", "book", "block", "mail"];

  function visibleTabs() {
    return TABS.filter(function (name) { return !$("tab-" + name).hidden; });
  }

  function showTab(name, focusTab) {
    TABS.forEach(function (t) {
      var selected = t === name;
      $("tab-" + t).setAttribute("aria-selected", String(selected));
      $("tab-" + t).tabIndex = selected ? 0 : -1;
      $("panel-" + t).hidden = !selected;
    });
    if (focusTab) $("tab-" + name).focus();
    if (name === "block") loadBlock();
    if (name === "mail") loadMail();
    if (name === "book" && !state.book.asked) {
      if (!$("book-from").value) $("book-from").value = state.today || "";
      loadTimes();
    }
  }

  function onTabKey(event) {
    var tabs = visibleTabs();
    var at = tabs.indexOf(event.target.id.replace("tab-", ""));
    var next = null;
    if (event.key === "ArrowRight") next = tabs[(at + 1) % tabs.length];
    if (event.key === "ArrowLeft") next = tabs[(at - 1 + tabs.length) % tabs.length];
    if (event.key === "Home") next = tabs[0];
    if (event.key === "End") next = tabs[tabs.length - 1];
    if (next) {
      event.preventDefault();
      showTab(next, true);
    }
  }

  // ---- Patients ---------------------------------------------------------------------------

  var searchTimer = null;
  var searchAsked = 0;

  function patientSub(p) {
    var parts = [];
    if (p.date_of_birth) parts.push("born " + p.date_of_birth);
    if (p.phone) parts.push(p.phone);
    parts.push(p.email);
    parts.push(plural(p.visits || 0, "visit", "visits"));
    if (p.next_visit) parts.push("next " + clinicTime(p.next_visit));
    else if (p.last_visit) parts.push("last " + clinicTime(p.last_visit));
    if (p.possible_duplicate_of) parts.push("possible duplicate of #" + p.possible_duplicate_of);
    return parts.join(" · ");
  }

  function showPatients(items, emptyText) {
    var list = $("patient-results");
    list.textContent = "";
    items.forEach(function (p) {
      list.appendChild(el("li", {}, [el("button", {
        type: "button", dataset: { patientId: String(p.id) },
        on: { click: function () { openPatient(p.id); } }
      }, [p.name, el("span", { className: "sub" }, [patientSub(p)])])]));
    });
    $("patients-status").textContent = items.length ? plural(items.length, "patient found", "patients found") : emptyText;
  }

  function search(explicit) {
    var q = $("patient-q").value.trim();
    $("patients-error").textContent = "";
    if (q.length < 2) {
      $("patient-results").textContent = "";
      $("patients-status").textContent = explicit ? "Type at least 2 characters." : "";
      return;
    }
    var asked = searchAsked += 1;
    api("/api/v1/patients?q=" + encodeURIComponent(q) + "&limit=20").then(function (result) {
      if (asked !== searchAsked) return;
      if (unknownRoute(result)) {
        $("patients-error").textContent = "Patient records are not available on this server yet.";
        return;
      }
      if (result.status !== 200) {
        showProblem($("patients-error"), result, "The search failed.", !explicit);
        return;
      }
      showPatients(result.body.items || [], "No patient matches “" + q + "”.");
      if (explicit && result.body.items && result.body.items.length) {
        $("patient-results").querySelector("button").focus();
      }
    }).catch(ignoreEnded);
  }

  function showDuplicates() {
    $("patients-error").textContent = "";
    api("/api/v1/patients/duplicates").then(function (result) {
      if (unknownRoute(result)) {
        $("patients-error").textContent = "Patient records are not available on this server yet.";
        return;
      }
      if (result.status !== 200) { showProblem($("patients-error"), result, "The list could not be read."); return; }
      showPatients(result.body.items || [], "No possible duplicates.");
      var first = $("patient-results").querySelector("button");
      if (first) first.focus();
    }).catch(ignoreEnded);
  }

  function openPatientOf(item) {
    showTab("patients");
    if (item.patient_id) { openPatient(item.patient_id); return; }
    $("patient-q").value = item.patient.email;
    search(true);
  }

  function openPatient(id, keepFocus) {
    $("patients-error").textContent = "";
    return api("/api/v1/patients/" + encodeURIComponent(id)).then(function (result) {
      if (unknownRoute(result)) {
        $("patients-error").textContent = "Patient records are not available on this server yet.";
        return;
      }
      if (result.status !== 200) { showProblem($("patients-error"), result, "The patient could not be read."); return; }
      state.patient = result.body;
      renderPatient(result.body);
      if (!keepFocus) $("patient-name").focus();
    }).catch(ignoreEnded);
  }

  function renderPatient(p) {
    $("patient").hidden = false;
    $("patient-name").textContent = p.name;
    var facts = $("patient-details");
    facts.textContent = "";
    [["Born", p.date_of_birth || "not given"], ["Phone", p.phone || "not given"], ["Email", p.email],
      ["Patient since", clinicTime(p.created_at)]].forEach(function (row) {
      facts.appendChild(el("dt", {}, [row[0]]));
      facts.appendChild(el("dd", {}, [row[1]]));
    });
    var c = p.counts || {};
    $("patient-counts").textContent = [plural(c.visits || 0, "visit", "visits"), (c.upcoming || 0) + " upcoming",
      (c.completed || 0) + " completed", plural(c.no_shows || 0, "no-show", "no-shows"),
      plural(c.cancellations || 0, "cancellation", "cancellations"),
      plural(c.late_cancellations || 0, "late cancellation", "late cancellations")].join(" · ");
    var dup = $("patient-duplicate");
    dup.hidden = !p.possible_duplicate_of && !p.merged_into;
    dup.textContent = p.merged_into ? "This record was merged into patient #" + p.merged_into + "."
      : p.possible_duplicate_of ? "Possibly the same person as patient #" + p.possible_duplicate_of + ": check and merge, or clear the flag." : "";
    $("patient-merge").hidden = !p.possible_duplicate_of || Boolean(p.merged_into);
    $("patient-not-duplicate").hidden = !p.possible_duplicate_of || Boolean(p.merged_into);
    $("patient-book").textContent = "Book a visit for " + p.name;
    var notes = $("patient-notes");
    notes.textContent = "";
    (p.notes || []).forEach(function (n) {
      notes.appendChild(noteItem(n, [" ",
        el("button", { type: "button", className: "link", on: { click: function () { editNote(n); } } }, ["Edit", hiddenText(" note")]),
        el("button", { type: "button", className: "link", on: { click: function () { deleteNote(n); } } }, ["Delete", hiddenText(" note")])
      ]));
    });
    if (!(p.notes || []).length) notes.appendChild(el("li", { className: "empty" }, ["No notes yet."]));
    var visits = $("patient-visits");
    visits.textContent = "";
    (p.visits || []).forEach(function (v) {
      var when = new Date(v.start).toLocaleString("en-US", {
        timeZone: state.clinicTz, weekday: "short", month: "short", day: "numeric", year: "numeric", hour: "numeric", minute: "2-digit"
      });
      visits.appendChild(el("li", {}, [
        el("span", { className: "badge " + v.status }, [statusName(v.status)]), " ",
        when + " · " + [v.visit_type && v.visit_type.name, v.provider && v.provider.name, v.location && v.location.name, v.reference].filter(Boolean).join(" · ")
      ]));
    });
    if (!(p.visits || []).length) visits.appendChild(el("li", {}, ["No visits yet."]));
  }

  function editNote(note) {
    var body = window.prompt("Edit the note (up to 500 characters)", note.body);
    if (body === null) return;
    body = body.trim();
    if (!body) return;
    api("/api/v1/notes/" + encodeURIComponent(note.id), { method: "PATCH", body: { body: body } }).then(function (result) {
      if (result.status !== 200) { showProblem($("patient-note-error"), result, "The note could not be saved."); return; }
      announce("Note saved");
      if (state.patient) openPatient(state.patient.id, true);
      loadSheet({ quiet: true });
    }).catch(ignoreEnded);
  }

  function deleteNote(note) {
    if (!window.confirm("Delete this note?")) return;
    api("/api/v1/notes/" + encodeURIComponent(note.id), { method: "DELETE" }).then(function (result) {
      if (result.status !== 204) { showProblem($("patient-note-error"), result, "The note could not be deleted."); return; }
      announce("Note deleted");
      if (state.patient) openPatient(state.patient.id, true).then(function () { $("patient-note").focus(); });
      loadSheet({ quiet: true });
    }).catch(ignoreEnded);
  }

  function addPatientNote(event) {
    event.preventDefault();
    var body = $("patient-note").value.trim();
    $("patient-note-error").textContent = "";
    if (!state.patient) return;
    if (!body) {
      $("patient-note-error").textContent = "Write the note first.";
      $("patient-note").focus();
      return;
    }
    api("/api/v1/patients/" + encodeURIComponent(state.patient.id) + "/notes", { method: "POST", body: { body: body } }).then(function (result) {
      if (result.status !== 201) { showProblem($("patient-note-error"), result, "The note could not be saved."); return; }
      $("patient-note").value = "";
      announce("Note saved");
      openPatient(state.patient.id, true).then(function () { $("patient-note").focus(); });
      loadSheet({ quiet: true });
    }).catch(ignoreEnded);
  }

  function merge() {
    var p = state.patient;
    if (!p || !p.possible_duplicate_of) return;
    if (!window.confirm("Merge " + p.name + " (#" + p.id + ") into patient #" + p.possible_duplicate_of + "? Both histories are kept.")) return;
    api("/api/v1/patients/" + encodeURIComponent(p.id) + "/merge", { method: "POST", body: { into: p.possible_duplicate_of } }).then(function (result) {
      if (result.status !== 200) { showProblem($("patients-error"), result, "The records could not be merged."); return; }
      state.patient = result.body;
      renderPatient(result.body);
      announce("Merged");
      $("patient-name").focus();
    }).catch(ignoreEnded);
  }

  function notDuplicate() {
    var p = state.patient;
    if (!p) return;
    api("/api/v1/patients/" + encodeURIComponent(p.id) + "/duplicate-flag", { method: "DELETE" }).then(function (result) {
      if (result.status !== 204) { showProblem($("patients-error"), result, "The flag could not be cleared."); return; }
      announce("Flag cleared");
      openPatient(p.id);
    }).catch(ignoreEnded);
  }

  // ---- Booking by phone -------------------------------------------------------------------

  var BOOK_FIELDS = { "patient.name": "book-name", "patient.email": "book-email", "patient.phone": "book-phone",
    "patient.date_of_birth": "book-dob", "reason": "book-reason", "override.reason": "book-override" };

  function bookFor(patient) {
    state.book.patient = patient || null;
    $("book-name").value = patient ? patient.name : "";
    $("book-email").value = patient ? patient.email : "";
    $("book-phone").value = patient && patient.phone ? patient.phone : "";
    $("book-dob").value = patient && patient.date_of_birth ? patient.date_of_birth : "";
    $("book-patient-summary").hidden = !patient;
    $("book-patient-summary").textContent = patient
      ? [patient.name, patient.date_of_birth && "born " + patient.date_of_birth, patient.phone, patient.email].filter(Boolean).join(" · ")
      : "";
    $("book-patient-fields").hidden = Boolean(patient);
    $("book-edit-patient").hidden = !patient;
    $("book-patient-note").textContent = patient
      ? "Patient #" + patient.id + ", found in the records."
      : "The clinic matches an existing record by email (and date of birth), or makes a new one.";
    $("book-done").hidden = true;
    if (!$("book-from").value) $("book-from").value = state.today || "";
    loadTimes();
    showTab("book");
    (patient ? ($("book-type-field").hidden ? $("book-provider") : $("book-type")) : $("book-name")).focus();
  }

  function fillBookProviders() {
    var type = visitType($("book-type").value);
    var offering = state.providers.filter(function (p) { return !type || type.provider_ids.indexOf(p.id) !== -1; });
    fillSelect($("book-provider"), [{ value: "", label: "First available" }].concat(providerOptions(offering)), $("book-provider").value);
  }

  function chosenPolicy() { return policyFor($("book-type").value); }

  function loadTimes(more) {
    var typeId = $("book-type").value;
    var query = ["limit=12"];
    if (typeId) query.push("visit_type_id=" + encodeURIComponent(typeId));
    if ($("book-provider").value) query.push("provider_id=" + encodeURIComponent($("book-provider").value));
    if ($("book-location").value) query.push("location_id=" + encodeURIComponent($("book-location").value));
    var from = more && state.book.nextFrom ? state.book.nextFrom : ($("book-from").value || state.today);
    if (from) query.push("from=" + encodeURIComponent(from));
    var asked = state.book.asked += 1;
    var box = $("book-times");
    if (!more) {
      state.book.chosen = null;
      $("book-chosen").textContent = "";
      $("book-override-field").hidden = true;
      box.textContent = "Looking for times…";
    }
    chosenPolicy().then(function (policy) {
      $("book-policy").textContent = policy ? policy.summary : "";
    }).catch(ignoreEnded);
    return api("/api/v1/slots?" + query.join("&")).then(function (result) {
      if (asked !== state.book.asked) return;
      if (!more) box.textContent = "";
      if (result.status !== 200) {
        showProblem($("book-error"), result, "The free times could not be read.", true);
        return;
      }
      state.book.nextFrom = result.body.next_from || null;
      $("book-later").hidden = !state.book.nextFrom;
      var lastDay = more ? box.dataset.lastDay : null;
      (result.body.items || []).forEach(function (slot) {
        var day = slot.local_start.slice(0, 10);
        if (day !== lastDay) {
          box.appendChild(el("p", { className: "day" }, [dayLabel(day, true)]));
          lastDay = day;
        }
        var label = localTime(slot.local_start) + ($("book-provider").value ? "" : " · " + slot.provider.name);
        box.appendChild(el("button", {
          type: "button", dataset: { slotId: String(slot.id), start: slot.start },
          attrs: { "aria-pressed": "false" },
          on: { click: function (event) { chooseTime(slot, event.currentTarget); } }
        }, [label, hiddenText(" on " + dayLabel(day, true))]));
      });
      box.dataset.lastDay = lastDay || "";
      if (!box.querySelector("button")) box.textContent = "No free time fits from this day on; try another provider, location or date.";
    }).catch(ignoreEnded);
  }

  function chooseTime(slot, button) {
    Array.prototype.forEach.call($("book-times").querySelectorAll("button"), function (b) { b.setAttribute("aria-pressed", "false"); });
    button.setAttribute("aria-pressed", "true");
    state.book.chosen = slot;
    var location = state.locations.length > 1 ? " at " + locationName(slot.location_id) : "";
    $("book-chosen").textContent = "Chosen: " + visitWhen(slot) + " to " + localTime(slot.local_end) + " with " + slot.provider.name + location + ".";
    chosenPolicy().then(function (policy) {
      var broken = rulesBrokenAt(Date.parse(slot.start), policy);
      showOverride("book", broken.length ? "This time is an exception to the booking rules: " + broken.join(" and ") +
        ". Say why; the audit log keeps the reason." : null);
    }).catch(ignoreEnded);
  }

  function locationName(id) {
    var l = state.locations.filter(function (x) { return x.id === id; })[0];
    return l ? l.name : "";
  }

  // The override field of the booking form or a dialog: shown with why the rules need setting
  // aside, or hidden (text null).
  function showOverride(prefix, text) {
    var field = $(prefix + "-override-field");
    field.hidden = !text;
    $(prefix + "-override-hint").textContent = text || "";
    if (!text) $(prefix + "-override").value = "";
  }

  function clearBookErrors() {
    Object.keys(BOOK_FIELDS).forEach(function (key) {
      var input = $(BOOK_FIELDS[key]);
      input.removeAttribute("aria-invalid");
      var error = $(BOOK_FIELDS[key] === "book-dob" ? "book-date_of_birth-error" : BOOK_FIELDS[key] + "-error");
      if (error) error.textContent = "";
    });
    $("book-error").textContent = "";
  }

  function showBookErrors(problem) {
    var first = null;
    var rest = [];
    Object.keys(problem.errors || {}).forEach(function (key) {
      var id = BOOK_FIELDS[key];
      if (key.indexOf("patient.") === 0) { $("book-patient-fields").hidden = false; $("book-edit-patient").hidden = true; }
      if (!id) { rest.push(key + ": " + problem.errors[key]); return; }
      var error = $(id === "book-dob" ? "book-date_of_birth-error" : id + "-error");
      if (id === "book-override") $("book-override-field").hidden = false;
      if (error) error.textContent = problem.errors[key];
      $(id).setAttribute("aria-invalid", "true");
      if (!first) first = $(id);
    });
    if (rest.length || !first) {
      $("book-error").textContent = (problem.detail || "Some fields are invalid") + (rest.length ? ": " + rest.join("; ") : "");
      $("book-error").focus();
      return;
    }
    first.focus();
  }

  function submitBooking(event) {
    event.preventDefault();
    clearBookErrors();
    var slot = state.book.chosen;
    if (!slot) {
      $("book-error").textContent = "Choose one of the times first.";
      $("book-error").focus();
      return;
    }
    var value = function (id) { var v = $(id).value.trim(); return v === "" ? undefined : v; };
    var override = $("book-override-field").hidden ? undefined : value("book-override");
    if (!$("book-override-field").hidden && !override) {
      $("book-override-error").textContent = "Give the reason for the exception.";
      $("book-override").setAttribute("aria-invalid", "true");
      $("book-override").focus();
      return;
    }
    var series = $("book-series").checked;
    var body = {
      slot_id: slot.id,
      visit_type_id: $("book-type").value ? Number($("book-type").value) : undefined,
      patient: { name: $("book-name").value, email: $("book-email").value, phone: value("book-phone"), date_of_birth: value("book-dob") },
      reason: value("book-reason"),
      override: override ? { reason: override } : undefined
    };
    if (series) {
      body.visits = Number($("book-visits").value);
      body.interval_weeks = Number($("book-interval").value);
    }
    var key = state.book.key || newKey();
    state.book.key = key;
    $("book-submit").disabled = true;
    api(series ? "/api/v1/series" : "/api/v1/bookings", { method: "POST", body: body, key: key }).then(function (result) {
      $("book-submit").disabled = false;
      // A lost answer keeps the key: sending again replays the first booking, never a second.
      if (result.status !== 0) state.book.key = null;
      if (result.status === 201) { booked(result.body, series); return; }
      if (result.status === 422 && result.body.errors) { showBookErrors(result.body); return; }
      if (result.status === 409 && result.body.rule && result.body.rule !== "max_active") {
        showOverride("book", "The booking rules refuse this time: " + result.body.detail + ". To book it anyway, say why.");
        $("book-override").focus();
        return;
      }
      var text = result.body.detail || "The visit could not be booked.";
      if (result.body.conflicts) {
        text += ". " + result.body.conflicts.map(function (c) {
          var alternatives = (c.alternatives || []).map(function (a) { return localTime(a.local_start); }).join(", ");
          return c.date + ": " + c.reason + (alternatives ? " (free nearby: " + alternatives + ")" : "");
        }).join("; ");
      }
      $("book-error").textContent = text;
      $("book-error").focus();
      if (result.status === 409 && result.body.slot_id) loadTimes();
    }).catch(ignoreEnded);
  }

  function booked(answer, series) {
    var first = series ? answer.visits[0] : answer;
    var name = first.patient.name;
    var text = series
      ? "Booked a course of " + answer.visit_count + " visits (" + answer.reference + ") for " + name + ", from " + visitWhen(first.slot) + " with " + first.provider.name + "."
      : "Booked " + first.reference + " for " + name + ": " + visitTypeText(first) + ", " + visitWhen(first.slot) + " with " + first.provider.name + ". The confirmation is on its way by email.";
    $("book-done").textContent = text;
    $("book-done").hidden = false;
    $("book-override").value = "";
    $("book-reason").value = "";
    $("book-series").checked = false;
    $("book-series-fields").hidden = true;
    loadTimes();
    var day = first.slot.local_start.slice(0, 10);
    if (day === state.date) {
      state.selected = first.reference;
      loadSheet({ quiet: true }).catch(ignoreEnded);
    }
    if (state.patient) openPatient(state.patient.id, true);
    if ($("patient-q").value.trim().length >= 2) search(false);
    $("book-done").focus();
  }

  // ---- Dialogs: note, move, cancel --------------------------------------------------------

  function openDialog(dialog, invoker, focus) {
    state.returnFocus = invoker || document.activeElement;
    dialog.showModal();
    if (focus) focus.focus();
  }

  // Back to what opened the dialog; if a redrawn row replaced it, to the same button of the
  // new row, or to the row.
  function closed() {
    var back = state.returnFocus;
    state.returnFocus = null;
    if (back && document.contains(back)) { back.focus(); return; }
    var row = state.selected && rowOf(state.selected);
    if (!row) return;
    var same = back && back.dataset && back.dataset.action && row.querySelector('[data-action="' + back.dataset.action + '"]');
    (same || row).focus();
  }

  function about(item) {
    return item.patient.name + " · " + visitTypeText(item) + " · " + visitWhen(item.slot) + " with " + item.provider.name + " · " + item.reference;
  }

  function openNote(item, invoker) {
    state.noting = item;
    $("note-about").textContent = about(item);
    $("note-body").value = "";
    $("note-error").textContent = "";
    document.querySelector('input[name="note-target"][value="booking"]').checked = true;
    document.querySelector('input[name="note-target"][value="patient"]').disabled = !item.patient_id;
    openDialog($("note-dialog"), invoker, $("note-body"));
  }

  function saveNote(event) {
    event.preventDefault();
    var item = state.noting;
    var body = $("note-body").value.trim();
    if (!body) {
      $("note-error").textContent = "Write the note first.";
      $("note-error").focus();
      return;
    }
    var onPatient = document.querySelector('input[name="note-target"]:checked').value === "patient";
    var path = onPatient
      ? "/api/v1/patients/" + encodeURIComponent(item.patient_id) + "/notes"
      : "/api/v1/bookings/" + encodeURIComponent(item.reference) + "/notes";
    $("note-save").disabled = true;
    api(path, { method: "POST", body: { body: body } }).then(function (result) {
      $("note-save").disabled = false;
      if (unknownRoute(result)) { $("note-error").textContent = "Notes are not available on this server yet."; $("note-error").focus(); return; }
      if (result.status !== 201) { showProblem($("note-error"), result, "The note could not be saved."); return; }
      var current = itemOf(item.reference);
      if (current) replaceItem(item.reference, { notes: (current.notes || []).concat([result.body]) });
      $("note-dialog").close();
      renderSheet();
      announce("Note saved for " + item.patient.name);
      loadSheet({ quiet: true }).catch(ignoreEnded);
      if (state.patient && state.patient.id === item.patient_id) openPatient(item.patient_id, true);
    }).catch(ignoreEnded);
  }

  function openMove(item, invoker) {
    state.moving = item;
    state.moveTo = null;
    $("move-about").textContent = about(item);
    $("move-error").textContent = "";
    $("move-chosen").textContent = "";
    showOverride("move", null);
    var type = item.visit_type && visitType(item.visit_type.id);
    var offering = state.providers.filter(function (p) { return !type || type.provider_ids.indexOf(p.id) !== -1; });
    fillSelect($("move-provider"), [{ value: "", label: "Any provider" }].concat(providerOptions(offering)), String(item.provider.id));
    $("move-from").value = state.today || "";
    $("move-policy").textContent = "";
    openDialog($("move-dialog"), invoker, $("move-provider"));
    policyFor(item.visit_type && item.visit_type.id).then(function (policy) {
      if (!policy) return;
      var late = withinCutoff(item, policy);
      $("move-policy").textContent = "The booking rules: visits are moved online until " + plural(policy.cancel_cutoff_hours, "hour", "hours") +
        " before they start, and booked from " + inWords(policy.min_notice_minutes) + " ahead." +
        (late ? " This visit starts sooner than that: moving it is an exception." : "");
      if (late) showOverride("move", "Moving this visit now sets the cut-off aside. Say why; the audit log keeps the reason.");
    }).catch(ignoreEnded);
    loadMoveTimes();
  }

  function loadMoveTimes() {
    var item = state.moving;
    if (!item) return;
    var query = ["limit=16"];
    if (item.visit_type) query.push("visit_type_id=" + item.visit_type.id);
    if ($("move-provider").value) query.push("provider_id=" + encodeURIComponent($("move-provider").value));
    if ($("move-from").value) query.push("from=" + encodeURIComponent($("move-from").value));
    var box = $("move-times");
    box.textContent = "Looking for times…";
    state.moveTo = null;
    $("move-chosen").textContent = "";
    api("/api/v1/slots?" + query.join("&")).then(function (result) {
      box.textContent = "";
      if (result.status !== 200) { showProblem($("move-error"), result, "The free times could not be read.", true); return; }
      var lastDay = null;
      (result.body.items || []).forEach(function (slot) {
        var day = slot.local_start.slice(0, 10);
        if (day !== lastDay) { box.appendChild(el("p", { className: "day" }, [dayLabel(day, true)])); lastDay = day; }
        box.appendChild(el("button", {
          type: "button", attrs: { "aria-pressed": "false" }, dataset: { slotId: String(slot.id) },
          on: { click: function (event) { chooseMoveTime(slot, event.currentTarget); } }
        }, [localTime(slot.local_start) + ($("move-provider").value ? "" : " · " + slot.provider.name), hiddenText(" on " + dayLabel(day, true))]));
      });
      if (!lastDay) box.textContent = "No free time fits from this day on.";
    }).catch(ignoreEnded);
  }

  function chooseMoveTime(slot, button) {
    Array.prototype.forEach.call($("move-times").querySelectorAll("button"), function (b) { b.setAttribute("aria-pressed", "false"); });
    button.setAttribute("aria-pressed", "true");
    state.moveTo = slot;
    $("move-chosen").textContent = "New time: " + visitWhen(slot) + " with " + slot.provider.name + ".";
    var item = state.moving;
    policyFor(item.visit_type && item.visit_type.id).then(function (policy) {
      var reasons = rulesBrokenAt(Date.parse(slot.start), policy);
      if (withinCutoff(item, policy)) reasons.unshift("the visit starts within the cut-off");
      showOverride("move", reasons.length ? "This move is an exception to the booking rules: " + reasons.join(" and ") +
        ". Say why; the audit log keeps the reason." : null);
    }).catch(ignoreEnded);
  }

  function submitMove(event) {
    event.preventDefault();
    var item = state.moving;
    $("move-error").textContent = "";
    if (!state.moveTo) { $("move-error").textContent = "Choose the new time first."; $("move-error").focus(); return; }
    var override = $("move-override").value.trim();
    if (!$("move-override-field").hidden && !override) {
      $("move-error").textContent = "Give the reason for the exception.";
      $("move-override").focus();
      return;
    }
    var body = { slot_id: state.moveTo.id };
    if (override) body.override = { reason: override };
    $("move-submit").disabled = true;
    api("/api/v1/bookings/" + encodeURIComponent(item.reference) + "/reschedule", { method: "POST", body: body }).then(function (result) {
      $("move-submit").disabled = false;
      if (result.status === 200) {
        $("move-dialog").close();
        announce(item.patient.name + " moved to " + visitWhen(result.body.slot));
        $("sheet-error").textContent = "";
        loadSheet({ quiet: true }).catch(ignoreEnded);
        return;
      }
      if (result.status === 409 && result.body.rule && result.body.rule !== "max_active") {
        showOverride("move", "The booking rules refuse this move: " + result.body.detail + ". To move it anyway, say why.");
        $("move-override").focus();
        return;
      }
      showProblem($("move-error"), result, "The visit could not be moved.");
      if (result.status === 409) loadMoveTimes();
    }).catch(ignoreEnded);
  }

  function openCancel(item, invoker) {
    state.cancelling = item;
    $("cancel-about").textContent = about(item);
    $("cancel-error").textContent = "";
    $("cancel-policy").textContent = "";
    showOverride("cancel", null);
    openDialog($("cancel-dialog"), invoker, $("cancel-submit"));
    policyFor(item.visit_type && item.visit_type.id).then(function (policy) {
      if (!policy) return;
      var late = withinCutoff(item, policy);
      $("cancel-policy").textContent = "The booking rules: visits are cancelled online until " + plural(policy.cancel_cutoff_hours, "hour", "hours") +
        " before they start. " + (policy.text || "") + (late ? " This visit starts sooner than that: cancelling it is an exception." : "");
      if (late) {
        showOverride("cancel", "Cancelling this visit now sets the cut-off aside. Say why; the audit log keeps the reason.");
        $("cancel-override").focus();
      }
    }).catch(ignoreEnded);
  }

  function submitCancel(event) {
    event.preventDefault();
    var item = state.cancelling;
    $("cancel-error").textContent = "";
    var override = $("cancel-override").value.trim();
    if (!$("cancel-override-field").hidden && !override) {
      $("cancel-error").textContent = "Give the reason for the exception.";
      $("cancel-override").focus();
      return;
    }
    $("cancel-submit").disabled = true;
    api("/api/v1/bookings/" + encodeURIComponent(item.reference) + "/cancel",
      { method: "POST", body: override ? { override: { reason: override } } : undefined }).then(function (result) {
      $("cancel-submit").disabled = false;
      if (result.status === 200) {
        replaceItem(item.reference, result.body);
        $("cancel-dialog").close();
        renderSheet();
        announce(item.patient.name + "'s visit is cancelled; the patient is told by email.");
        loadSheet({ quiet: true }).catch(ignoreEnded);
        return;
      }
      if (result.status === 409 && result.body.rule) {
        showOverride("cancel", "The booking rules refuse this: " + result.body.detail + ". To cancel anyway, say why.");
        $("cancel-override").focus();
        return;
      }
      showProblem($("cancel-error"), result, "The visit could not be cancelled.");
    }).catch(ignoreEnded);
  }

  // ---- Blocking time ----------------------------------------------------------------------

  function loadBlock() {
    if (!$("block-date").value) $("block-date").value = state.date || state.today || "";
    loadBlockSlots();
    loadTimeOff();
  }

  function loadBlockSlots() {
    var provider = $("block-provider").value;
    var date = $("block-date").value;
    var list = $("block-slots");
    $("block-error").textContent = "";
    if (!provider || !date) { list.textContent = ""; return; }
    api("/api/v1/slots?provider_id=" + encodeURIComponent(provider) + "&from=" + date + "&to=" + addDays(date, 1) + "&limit=200").then(function (result) {
      list.textContent = "";
      if (result.status !== 200) { showProblem($("block-error"), result, "The slots could not be read.", true); return; }
      var slots = result.body.items || [];
      // Slots blocked from this desk stay listed, to free them again.
      Object.keys(state.blocked).forEach(function (id) {
        var s = state.blocked[id];
        if (String(s.provider_id) === provider && s.local_start.slice(0, 10) === date) slots.push(s);
      });
      slots.sort(function (a, b) { return a.start < b.start ? -1 : 1; });
      slots.forEach(function (slot) { list.appendChild(blockRow(slot)); });
      if (!slots.length) list.appendChild(el("li", {}, ["No free slot left that day."]));
    }).catch(ignoreEnded);
  }

  function blockRow(slot) {
    var blocked = Boolean(state.blocked[slot.id]);
    var label = localTime(slot.local_start) + " to " + localTime(slot.local_end) + (state.locations.length > 1 ? " · " + locationName(slot.location_id) : "");
    return el("li", { dataset: { slotId: String(slot.id) } }, [
      el("span", {}, [label, blocked ? " · blocked" : ""]),
      el("button", {
        type: "button", className: blocked ? "quiet" : "",
        on: { click: function (event) { setSlot(slot, blocked ? "free" : "blocked", event.currentTarget); } }
      }, [blocked ? "Free again" : "Block", hiddenText(" " + label)])
    ]);
  }

  function setSlot(slot, status, button) {
    button.disabled = true;
    api("/api/v1/slots/" + slot.id, { method: "PATCH", body: { status: status } }).then(function (result) {
      if (result.status !== 200) {
        button.disabled = false;
        showProblem($("block-error"), result, "The slot could not be changed.");
        return;
      }
      if (status === "blocked") state.blocked[slot.id] = Object.assign({}, slot, result.body);
      else delete state.blocked[slot.id];
      var row = button.closest("li");
      var fresh = blockRow(state.blocked[slot.id] || slot);
      row.parentNode.replaceChild(fresh, row);
      fresh.querySelector("button").focus();
      announce(status === "blocked" ? "Slot blocked" : "Slot free again");
    }).catch(ignoreEnded);
  }

  function loadTimeOff() {
    var provider = $("block-provider").value;
    var list = $("off-list");
    if (!provider) { list.textContent = ""; return; }
    api("/api/v1/providers/" + encodeURIComponent(provider) + "/time-off").then(function (result) {
      list.textContent = "";
      if (result.status !== 200) return;
      var items = result.body.items || [];
      items.forEach(function (t) {
        var label = clinicTime(t.start) + " to " + clinicTime(t.end) + ": " + t.reason;
        list.appendChild(el("li", {}, [el("span", {}, [label]), el("button", {
          type: "button", className: "quiet",
          on: { click: function () { removeTimeOff(t); } }
        }, ["Remove", hiddenText(" time off " + label)])]));
      });
      if (!items.length) list.appendChild(el("li", {}, ["None."]));
    }).catch(ignoreEnded);
  }

  function removeTimeOff(t) {
    if (!window.confirm("Remove this time off? Its slots become free again.")) return;
    api("/api/v1/providers/" + t.provider_id + "/time-off/" + t.id, { method: "DELETE" }).then(function (result) {
      if (result.status !== 204) { showProblem($("off-error"), result, "The time off could not be removed."); return; }
      $("off-done").textContent = "Time off removed; its slots are free again.";
      loadTimeOff();
      loadBlockSlots();
    }).catch(ignoreEnded);
  }

  function submitTimeOff(event) {
    event.preventDefault();
    $("off-error").textContent = "";
    $("off-done").textContent = "";
    var provider = $("block-provider").value;
    var start = zonedToUtc($("off-start").value, state.clinicTz);
    var end = zonedToUtc($("off-end").value, state.clinicTz);
    var reason = $("off-reason").value.trim();
    if (!start || !end || !reason) {
      $("off-error").textContent = "Give the start, the end and the reason.";
      $("off-error").focus();
      return;
    }
    var body = { start: start, end: end, reason: reason };
    if ($("off-cancel").checked) body.cancel_bookings = true;
    api("/api/v1/providers/" + encodeURIComponent(provider) + "/time-off", { method: "POST", body: body }).then(function (result) {
      if (result.status === 201) {
        var cancelled = result.body.cancelled_bookings || [];
        $("off-done").textContent = "Blocked " + plural(result.body.blocked_slots, "slot", "slots") + " for " + providerName(provider) +
          (cancelled.length ? "; cancelled " + cancelled.join(", ") + " (each patient is mailed the reason)" : "") + ".";
        $("off-reason").value = "";
        $("off-cancel").checked = false;
        loadTimeOff();
        loadBlockSlots();
        loadSheet({ quiet: true }).catch(ignoreEnded);
        return;
      }
      var text = result.body.detail || "The time off could not be entered.";
      if (result.body.bookings) {
        text = "Visits are still booked in that range: " + result.body.bookings.map(function (b) {
          return b.reference + " (" + clinicTime(b.start) + ")";
        }).join(", ") + ". Move them first, or tick “Cancel visits booked in the range”.";
      }
      showProblem($("off-error"), { body: { detail: text, errors: result.body.errors } });
    }).catch(ignoreEnded);
  }

  // ---- Mail (admins) ----------------------------------------------------------------------

  function loadMail(countOnly) {
    var status = countOnly ? "failed" : $("mail-status").value;
    api("/api/v1/admin/outbox?status=" + status + "&limit=50").then(function (result) {
      if (result.status !== 200) {
        if (!countOnly) showProblem($("mail-error"), result, "The mail queue could not be read.", true);
        return;
      }
      var body = result.body;
      if (status === "failed") {
        $("tab-mail").textContent = body.items.length ? "Mail (" + body.items.length + (body.items.length === 50 ? "+" : "") + " failed)" : "Mail";
      }
      if (countOnly) return;
      $("mail-error").textContent = "";
      $("mail-summary").textContent = plural(body.due, "mail is", "mails are") + " due to go now" +
        (body.oldest_due_since ? ", the oldest since " + clinicTime(body.oldest_due_since) : "") +
        (status === "failed" ? "; failed mail is retried only when an admin asks." : ".");
      var list = $("mail-list");
      list.textContent = "";
      body.items.forEach(function (job) {
        var what = job.kind.replace(/_/g, " ") + " · " + (job.booking_reference || job.waitlist_reference || "no booking") +
          " · " + plural(job.attempts, "attempt", "attempts") +
          (job.status === "sent" ? " · sent " + clinicTime(job.sent_at) : " · next " + clinicTime(job.next_attempt_at));
        var children = [el("span", {}, [what])];
        if (job.status === "failed") {
          children.push(el("button", { type: "button", on: { click: function (event) { retryMail(job, event.currentTarget); } } },
            ["Retry", hiddenText(" " + what)]));
        }
        if (job.last_error) children.push(el("span", { className: "error-text" }, ["Last error: " + job.last_error]));
        list.appendChild(el("li", {}, children));
      });
      if (!body.items.length) list.appendChild(el("li", {}, [status === "failed" ? "No failed mail." : "Nothing here."]));
    }).catch(ignoreEnded);
  }

  function retryMail(job, button) {
    button.disabled = true;
    api("/api/v1/admin/outbox/" + job.id + "/retry", { method: "POST" }).then(function (result) {
      if (result.status !== 200) {
        button.disabled = false;
        showProblem($("mail-error"), result, "The mail could not be queued again.");
        return;
      }
      announce("The mail is queued again.");
      loadMail();
      $("mail-status").focus();
    }).catch(ignoreEnded);
  }

  // ---- Keyboard ---------------------------------------------------------------------------

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function shortcutsOn() { return $("shortcuts-on").checked; }

  function currentRef() {
    var row = document.activeElement && document.activeElement.closest && document.activeElement.closest("#sheet-list li.visit");
    return row ? row.dataset.reference : state.selected;
  }

  function onKey(event) {
    if (!state.token || event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.querySelector("dialog[open]")) return;
    var target = event.target;
    if (typing(target)) {
      if (event.key === "ArrowDown" && target.id === "patient-q") {
        var first = $("patient-results").querySelector("button");
        if (first) { event.preventDefault(); first.focus(); }
      }
      return;
    }
    if (target.closest && target.closest("#patient-results") && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      var buttons = Array.prototype.slice.call($("patient-results").querySelectorAll("button"));
      var at = buttons.indexOf(target);
      var next = event.key === "ArrowDown" ? buttons[at + 1] : (at > 0 ? buttons[at - 1] : $("patient-q"));
      if (next) { event.preventDefault(); next.focus(); }
      return;
    }
    if (target.closest && target.closest("#sheet-list") && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      moveSelection(event.key === "ArrowDown" ? 1 : -1);
      return;
    }
    if (!shortcutsOn() || event.key.length !== 1) return;
    var key = event.key;
    var handled = true;
    var actionByKey = { a: "arrived", c: "completed", n: "no_show", e: "note", m: "move", x: "cancel", p: "patient" };
    if (key === "/") {
      showTab("patients");
      $("patient-q").focus();
      $("patient-q").select();
    } else if (key === "b") {
      bookFor(state.patient);
    } else if (key === "j") {
      moveSelection(1);
    } else if (key === "k") {
      moveSelection(-1);
    } else if (key === "[") {
      setDate(addDays(state.date, -1));
    } else if (key === "]") {
      setDate(addDays(state.date, 1));
    } else if (key === "t") {
      state.date = null;
      loadSheet({ today: true }).catch(ignoreEnded);
    } else if (key === "r") {
      loadSheet().catch(ignoreEnded);
      announce("Day sheet refreshed");
    } else if (key === "?") {
      $("shortcuts").open = true;
      $("shortcuts-title").focus();
    } else if (actionByKey[key]) {
      var ref = currentRef();
      var row = ref && rowOf(ref);
      var action = actionByKey[key];
      if (!row) {
        $("sheet-error").textContent = "Choose a visit first: j and k move through the sheet.";
      } else if (action === "patient") {
        act(ref, "patient", row.querySelector('[data-action="patient"]'));
      } else {
        var button = row.querySelector('[data-action="' + action + '"]');
        if (button) act(ref, action, button);
        else $("sheet-error").textContent = ACTION_LABELS[action] + " is not possible for this visit now (" + statusName(itemOf(ref).status) + ").";
      }
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  }

  // ---- Wiring -----------------------------------------------------------------------------

  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("sheet-list").addEventListener("click", onSheetClick);
  $("sheet-list").addEventListener("focusin", function (event) {
    var row = event.target.closest("li.visit");
    if (row && row.dataset.reference !== state.selected) select(row.dataset.reference, false);
  });
  $("day-prev").addEventListener("click", function () { setDate(addDays(state.date, -1)); });
  $("day-next").addEventListener("click", function () { setDate(addDays(state.date, 1)); });
  $("day-today").addEventListener("click", function () { state.date = null; loadSheet({ today: true }).catch(ignoreEnded); });
  $("sheet-date").addEventListener("change", function () { if ($("sheet-date").value) setDate($("sheet-date").value); });
  $("sheet-provider").addEventListener("change", function () { state.providerId = $("sheet-provider").value; saveFilters(); loadSheet().catch(ignoreEnded); });
  $("sheet-location").addEventListener("change", function () {
    state.locationId = $("sheet-location").value;
    saveFilters();
    loadSheet().catch(ignoreEnded);
  });
  TABS.forEach(function (name) {
    $("tab-" + name).addEventListener("click", function () { showTab(name); });
    $("tab-" + name).addEventListener("keydown", onTabKey);
  });
  $("search-form").addEventListener("submit", function (event) { event.preventDefault(); search(true); });
  $("patient-q").addEventListener("input", function () {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(function () { search(false); }, 250);
  });
  $("show-duplicates").addEventListener("click", showDuplicates);
  $("patient-book").addEventListener("click", function () { bookFor(state.patient); });
  $("patient-merge").addEventListener("click", merge);
  $("patient-not-duplicate").addEventListener("click", notDuplicate);
  $("patient-note-form").addEventListener("submit", addPatientNote);
  $("book-form").addEventListener("submit", submitBooking);
  $("book-clear").addEventListener("click", function () { state.patient = null; bookFor(null); });
  $("book-edit-patient").addEventListener("click", function () {
    $("book-patient-fields").hidden = false;
    $("book-edit-patient").hidden = true;
    $("book-name").focus();
  });
  $("book-type").addEventListener("change", function () { fillBookProviders(); loadTimes(); });
  $("book-provider").addEventListener("change", function () { loadTimes(); });
  $("book-location").addEventListener("change", function () { loadTimes(); });
  $("book-from").addEventListener("change", function () { loadTimes(); });
  $("book-later").addEventListener("click", function () { loadTimes(true); });
  $("book-series").addEventListener("change", function () { $("book-series-fields").hidden = !$("book-series").checked; });
  $("note-form").addEventListener("submit", saveNote);
  $("move-form").addEventListener("submit", submitMove);
  $("move-provider").addEventListener("change", loadMoveTimes);
  $("move-from").addEventListener("change", loadMoveTimes);
  $("cancel-form").addEventListener("submit", submitCancel);
  ["note-dialog", "move-dialog", "cancel-dialog"].forEach(function (id) {
    $(id).addEventListener("close", closed);
    Array.prototype.forEach.call($(id).querySelectorAll("[data-close]"), function (b) {
      b.addEventListener("click", function () { $(id).close(); });
    });
  });
  $("block-provider").addEventListener("change", function () { loadBlockSlots(); loadTimeOff(); });
  $("block-date").addEventListener("change", loadBlockSlots);
  $("off-form").addEventListener("submit", submitTimeOff);
  $("mail-status").addEventListener("change", function () { loadMail(); });
  $("mail-refresh").addEventListener("click", function () { loadMail(); });
  $("shortcuts-on").checked = window.localStorage.getItem(SHORTCUTS_KEY) !== "off";
  $("shortcuts-on").addEventListener("change", function () {
    window.localStorage.setItem(SHORTCUTS_KEY, $("shortcuts-on").checked ? "on" : "off");
  });
  document.addEventListener("keydown", onKey);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && state.token) loadSheet({ quiet: true }).catch(ignoreEnded);
  });

  var saved = window.sessionStorage.getItem(TOKEN_KEY);
  if (saved) start(saved, false);
  else {
    $("skip").hidden = true;
    $("login-email").focus();
  }
})();
