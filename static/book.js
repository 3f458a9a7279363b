// The booking page: choose a visit type, then a provider and a time where that visit fits, enter
// your details, book. Opened from a confirmation email (?reference=…&token=…) it shows that
// booking and lets the patient move it (to times where its visit type fits) or cancel it. Plain
// JavaScript against the public API; no framework, no third-party code.
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);
  var state = {
    providerId: params.get("provider_id") || "",
    source: params.get("source") || "",
    providers: [],
    // The active visit types (GET /api/v1/visit-types); empty if the clinic has none, and then
    // the page books plain slots as it did before visit types.
    visitTypes: [],
    // The one the patient chose, or (when moving a booking) the booking's: {id, name, duration_minutes}.
    visitType: null,
    weekStart: startOfToday(),
    // A deep link (an aggregator's, from /fhir/$bulk-publish) names a start: its week is shown
    // and the time picked, once.
    deepStart: params.get("start") ? new Date(params.get("start")) : null,
    chosen: null,
    // The time kept for the patient while they fill in the form (POST /api/v1/holds):
    // {token, endsAt (this browser's clock), timer}.
    hold: null,
    manage: params.get("reference") && params.get("token")
      ? { reference: params.get("reference"), token: params.get("token"), booking: null, moving: false }
      : null
  };

  function $(id) { return document.getElementById(id); }

  function startOfToday() {
    var d = new Date();
    d.setHours(0, 0, 0, 0);
    return d;
  }

  function addDays(date, days) {
    var d = new Date(date.getTime());
    d.setDate(d.getDate() + days);
    return d;
  }

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

  // "2026-11-26T08:00:00-07:00" is already the clinic's wall-clock time: show it as written.
  function localDate(stamp) { return stamp.slice(0, 10); }

  function localTime(stamp) {
    var hours = parseInt(stamp.slice(11, 13), 10);
    var minutes = stamp.slice(14, 16);
    var suffix = hours >= 12 ? "PM" : "AM";
    return ((hours + 11) % 12 + 1) + ":" + minutes + " " + suffix;
  }

  function dayLabel(date) {
    var d = new Date(date + "T12:00:00");
    return d.toLocaleDateString("en-US", { weekday: "long", month: "long", day: "numeric" });
  }

  // The clinic's booking rules (how soon, how far ahead, until when a visit can be cancelled
  // or moved online), shown beside the form and the manage buttons before the patient commits.
  function loadPolicy() {
    return api("/api/v1/booking-policy").then(function (result) {
      if (result.status !== 200) return;
      state.policy = result.body;
      var words = [result.body.summary, result.body.text].filter(Boolean).join(" ");
      Array.prototype.forEach.call(document.querySelectorAll("[data-booking-policy]"), function (p) {
        p.textContent = words;
      });
      weekNav();
    });
  }

  function weekNav() {
    var from = state.weekStart;
    $("prev-week").disabled = from <= startOfToday();
    // Nothing can be booked past the horizon: no week to page on to there.
    $("next-week").disabled = Boolean(state.policy) &&
      addDays(from, 7) >= addDays(startOfToday(), state.policy.horizon_days);
  }

  function loadProviders() {
    return api("/api/v1/providers").then(function (result) {
      state.providers = result.body.items || [];
    });
  }

  function loadVisitTypes() {
    return api("/api/v1/visit-types").then(function (result) {
      state.visitTypes = result.status === 200 ? result.body.items || [] : [];
    }, function () { state.visitTypes = []; });
  }

  function findVisitType(id) {
    return state.visitTypes.filter(function (t) { return String(t.id) === String(id); })[0] || null;
  }

  function minutes(n) { return n + " minutes"; }

  function visitLabel(type) { return type.name + " (" + minutes(type.duration_minutes) + ")"; }

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
      any.textContent = "Any provider";
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
    length.textContent = "· " + minutes(type.duration_minutes) +
      (type.new_patients_online ? "" : " · for returning patients");
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
    var returning = 0;
    state.visitTypes.forEach(function (type) {
      var list = type.new_patients_online ? $("visit-types-new") : $("visit-types-returning");
      if (!type.new_patients_online) returning += 1;
      list.appendChild(visitOption(type));
    });
    $("visit-returning").hidden = returning === 0;
    var wanted = findVisitType(params.get("visit_type_id"));
    if (wanted) {
      $("visit-type-" + wanted.id).checked = true;
      chooseVisitType(wanted, false);
    }
  }

  // The week a page opens on: a deep link's, else this one.
  function deepWeek() {
    var today = startOfToday();
    if (!state.deepStart || isNaN(state.deepStart.getTime()) || state.deepStart <= today) return today;
    var day = new Date(state.deepStart.getTime());
    day.setHours(0, 0, 0, 0);
    return day;
  }

  function chooseVisitType(type, moveFocus) {
    state.visitType = { id: type.id, name: type.name, duration_minutes: type.duration_minutes };
    state.chosen = null;
    letGo();
    state.weekStart = deepWeek();
    $("visit-error").textContent = "";
    $("visit-summary-text").textContent = visitLabel(type);
    $("details").hidden = true;
    $("choose").hidden = false;
    fillProviders();
    loadWeek();
    if (moveFocus) $("choose-title").focus();
  }

  function loadWeek() {
    var from = state.weekStart;
    var to = addDays(from, 7);
    $("week-label").textContent = from.toLocaleDateString("en-US", { month: "short", day: "numeric" }) +
      " – " + addDays(to, -1).toLocaleDateString("en-US", { month: "short", day: "numeric" });
    weekNav();
    var query = "from=" + encodeURIComponent(from.toISOString()) + "&to=" + encodeURIComponent(to.toISOString()) + "&limit=500";
    if (state.providerId) query += "&provider_id=" + encodeURIComponent(state.providerId);
    if (state.visitType) query += "&visit_type_id=" + encodeURIComponent(state.visitType.id);
    var container = $("slots");
    container.textContent = "Loading free times…";
    $("choose-error").textContent = "";
    return api("/api/v1/slots?" + query).then(function (result) {
      container.textContent = "";
      var items = result.body.items || [];
      var linked = state.deepStart;
      state.deepStart = null;
      if (items.length === 0) {
        if (linked) $("choose-error").textContent = "The time you followed a link to has just been taken; try another week or provider.";
        container.textContent = state.visitType
          ? "No time this week has room for a " + visitLabel(state.visitType) + ". Try the next week or another provider."
          : "No free times this week. Try the next week or another provider.";
        return;
      }
      var days = {};
      var order = [];
      items.forEach(function (slot) {
        var day = localDate(slot.local_start);
        if (!days[day]) { days[day] = []; order.push(day); }
        days[day].push(slot);
      });
      order.forEach(function (day) {
        var group = document.createElement("div");
        group.className = "day";
        var heading = document.createElement("h3");
        heading.textContent = dayLabel(day);
        group.appendChild(heading);
        days[day].forEach(function (slot) {
          var button = document.createElement("button");
          button.type = "button";
          button.className = "slot";
          button.dataset.slotId = String(slot.id);
          button.setAttribute("aria-pressed", "false");
          button.textContent = localTime(slot.local_start) + (state.providerId ? "" : " · " + slot.provider.name);
          button.addEventListener("click", function () { choose(slot, button); });
          group.appendChild(button);
          if (linked && new Date(slot.start).getTime() === linked.getTime() &&
              (!params.get("provider_id") || String(slot.provider.id) === params.get("provider_id"))) {
            linked = null;
            choose(slot, button);
          }
        });
        container.appendChild(group);
      });
      // The linked time is gone (taken since it was published): say so, and show the week.
      if (linked) {
        $("choose-error").textContent = "The time you followed a link to has just been taken; here are the others that week.";
      }
    });
  }

  // A slot, or a booking's visit, from its start to its end (with a visit type, the items of
  // /slots and the booking's slot end where the visit does).
  function describe(slot) {
    return dayLabel(localDate(slot.local_start)) + ", " + localTime(slot.local_start) + " to " +
      localTime(slot.local_end) + ", with " + slot.provider.name + " (" + slot.timezone + ")";
  }

  function choose(slot, button) {
    Array.prototype.forEach.call(document.querySelectorAll("button.slot"), function (b) {
      b.setAttribute("aria-pressed", "false");
    });
    button.setAttribute("aria-pressed", "true");
    state.chosen = slot;
    if (state.manage && state.manage.moving) {
      moveTo(slot);
      return;
    }
    $("details").hidden = false;
    $("chosen").textContent = "You chose " + (state.visitType ? visitLabel(state.visitType) + " on " : "") +
      describe(slot) + ".";
    keep(slot);
    $("name").focus();
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
        loadWeek().then(function () {
          $("choose-error").textContent = result.body.detail || "That time is no longer free. Please choose another.";
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
        warned: false
      };
      state.hold = hold;
      $("hold-text").textContent = "We're holding this time for you while you fill in the form. Time left:";
      $("hold").hidden = false;
      var tick = function () {
        var left = Math.round((hold.endsAt - Date.now()) / 1000);
        $("hold-timer").textContent = clock(left);
        if (left <= 60 && !hold.warned && left > 0) {
          hold.warned = true;
          $("hold-text").textContent = "One minute left on your hold. Time left:";
        }
        if (left <= 0) {
          window.clearInterval(hold.timer);
          $("hold-text").textContent = "We could not hold this time any longer; you can still book it if it is free.";
          $("hold-timer").textContent = "";
        }
      };
      tick();
      hold.timer = window.setInterval(tick, 1000);
    }).catch(function () {});
  }

  var fields = ["name", "email", "phone", "date_of_birth", "reason"];

  function clearErrors() {
    fields.forEach(function (f) {
      $(f + "-error").textContent = "";
      $(f).removeAttribute("aria-invalid");
    });
    $("form-error").textContent = "";
  }

  function showErrors(problem) {
    var first = null;
    Object.keys(problem.errors || {}).forEach(function (key) {
      var field = key.replace(/^patient\./, "");
      if (fields.indexOf(field) === -1) {
        $("form-error").textContent = problem.errors[key];
        return;
      }
      $(field + "-error").textContent = problem.errors[key];
      $(field).setAttribute("aria-invalid", "true");
      if (!first) first = $(field);
    });
    if (first) first.focus();
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  function submit(event) {
    event.preventDefault();
    clearErrors();
    if (!state.chosen) return;
    var value = function (id) { var v = $(id).value.trim(); return v === "" ? undefined : v; };
    var body = {
      slot_id: state.chosen.id,
      visit_type_id: state.visitType ? state.visitType.id : undefined,
      patient: {
        name: $("name").value,
        email: $("email").value,
        phone: value("phone"),
        date_of_birth: value("date_of_birth")
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
          var booking = result.body;
          $("visit").hidden = true;
          $("choose").hidden = true;
          $("details").hidden = true;
          $("done").hidden = false;
          $("done-visit-type").textContent = booking.visit_type ? visitLabel(booking.visit_type) : "Appointment";
          $("done-text").textContent = describe(visitOf(booking));
          $("done-reference").textContent = booking.reference;
          $("done").focus();
          return;
        }
        state.key = null;
        if (result.status === 422 && result.body.errors) { showErrors(result.body); return; }
        // A 409 says why (the time was taken, or the visit type is for returning patients):
        // show it where the patient is looking, and refresh the times.
        $("form-error").textContent = result.body.detail || "Something went wrong. Please try again.";
        $("form-error").focus();
        if (result.status === 409) loadWeek();
      })
      .catch(function () {
        $("submit").disabled = false;
        $("form-error").textContent = "We could not reach the clinic. Check your connection and try again.";
      });
  }

  function visitOf(booking) {
    return {
      local_start: booking.slot.local_start,
      local_end: booking.slot.local_end,
      provider: booking.provider,
      timezone: booking.slot.timezone
    };
  }

  function showBooking(booking) {
    var details = $("manage-details");
    details.textContent = "";
    var rows = [["Reference", booking.reference]];
    if (booking.visit_type) rows.push(["Visit", visitLabel(booking.visit_type)]);
    rows.push(["When", describe(visitOf(booking))], ["Status", booking.status]);
    rows.forEach(function (row) {
      var dt = document.createElement("dt");
      dt.textContent = row[0];
      var dd = document.createElement("dd");
      dd.textContent = row[1];
      details.appendChild(dt);
      details.appendChild(dd);
    });
    var active = booking.status === "booked";
    $("manage-cancel").hidden = !active;
    $("manage-reschedule").hidden = !active;
  }

  function loadBooking() {
    var m = state.manage;
    return api("/api/v1/bookings/" + encodeURIComponent(m.reference), { token: m.token }).then(function (result) {
      $("manage").hidden = false;
      if (result.status !== 200) {
        $("manage-details").textContent = result.body.detail || "This link no longer opens a booking.";
        $("manage-cancel").hidden = true;
        $("manage-reschedule").hidden = true;
        return;
      }
      m.booking = result.body;
      // Moving it offers only times where its own visit type fits.
      state.visitType = result.body.visit_type;
      showBooking(result.body);
    });
  }

  function moveTo(slot) {
    var m = state.manage;
    if (!window.confirm("Move your appointment to " + describe(slot) + "?")) return;
    api("/api/v1/bookings/" + encodeURIComponent(m.reference) + "/reschedule",
        { method: "POST", token: m.token, body: { slot_id: slot.id } })
      .then(function (result) {
        if (result.status === 200) {
          m.moving = false;
          $("choose").hidden = true;
          m.booking = result.body;
          showBooking(result.body);
          $("manage-title").focus();
        } else {
          window.alert(result.body.detail || "That time could not be booked.");
          loadWeek();
        }
      });
  }

  function cancel() {
    var m = state.manage;
    if (!window.confirm("Cancel this appointment?")) return;
    api("/api/v1/bookings/" + encodeURIComponent(m.reference) + "/cancel", { method: "POST", token: m.token })
      .then(function (result) {
        if (result.status === 200) showBooking(result.body);
        else window.alert(result.body.detail || "The appointment could not be cancelled.");
      });
  }

  $("provider").addEventListener("change", function () {
    state.providerId = $("provider").value;
    loadWeek();
  });
  $("prev-week").addEventListener("click", function () {
    state.weekStart = addDays(state.weekStart, -7);
    if (state.weekStart < startOfToday()) state.weekStart = startOfToday();
    loadWeek();
  });
  $("next-week").addEventListener("click", function () {
    state.weekStart = addDays(state.weekStart, 7);
    loadWeek();
  });
  $("details").addEventListener("submit", submit);
  $("visit-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var checked = document.querySelector("input[name=visit_type]:checked");
    if (!checked) {
      $("visit-error").textContent = "Choose a visit type to see the times that have room for it.";
      var first = document.querySelector("input[name=visit_type]");
      if (first) first.focus();
      return;
    }
    chooseVisitType(findVisitType(checked.value), true);
  });
  $("visit-change").addEventListener("click", function () {
    letGo();
    $("choose").hidden = true;
    $("details").hidden = true;
    var checked = document.querySelector("input[name=visit_type]:checked");
    (checked || $("visit-title")).focus();
  });
  $("manage-cancel").addEventListener("click", cancel);
  // Leaving the page lets the held time go at once, rather than when the hold expires.
  window.addEventListener("pagehide", letGo);
  $("manage-reschedule").addEventListener("click", function () {
    state.manage.moving = true;
    state.weekStart = startOfToday();
    $("choose").hidden = false;
    $("choose-title").textContent = "Choose a new time";
    $("visit-change").hidden = true;
    $("visit-summary").hidden = !state.visitType;
    if (state.visitType) $("visit-summary-text").textContent = visitLabel(state.visitType);
    fillProviders();
    loadWeek();
    $("choose-title").focus();
  });

  $("visit").hidden = true;
  var ready = Promise.all([loadVisitTypes(), loadProviders()]);
  if (state.manage) {
    $("title").textContent = "Manage your appointment";
    $("lead").hidden = true;
    ready.then(loadBooking);
  } else {
    ready.then(function () {
      if (state.visitTypes.length > 0) {
        $("visit").hidden = false;
        showVisitTypes();
        return;
      }
      // A clinic without visit types: times first, as before them.
      $("lead").textContent = "Choose a provider and a time, then tell us who you are. We confirm every booking by email.";
      $("choose-title").textContent = "1. Choose a time";
      $("details-title").textContent = "2. Your details";
      $("visit-summary").hidden = true;
      $("choose").hidden = false;
      state.weekStart = deepWeek();
      fillProviders();
      loadWeek();
    });
  }
  loadPolicy();
})();
