// The booking page: choose a provider and a free time, enter your details, book. Opened from a
// confirmation email (?reference=…&token=…) it shows that booking and lets the patient move or
// cancel it. Plain JavaScript against the public API; no framework, no third-party code.
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);
  var state = {
    providerId: params.get("provider_id") || "",
    source: params.get("source") || "",
    weekStart: startOfToday(),
    chosen: null,
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
      var select = $("provider");
      (result.body.items || []).forEach(function (p) {
        var option = document.createElement("option");
        option.value = String(p.id);
        option.textContent = p.name + " — " + p.title;
        select.appendChild(option);
      });
      select.value = state.providerId;
    });
  }

  function loadWeek() {
    var from = state.weekStart;
    var to = addDays(from, 7);
    $("week-label").textContent = from.toLocaleDateString("en-US", { month: "short", day: "numeric" }) +
      " – " + addDays(to, -1).toLocaleDateString("en-US", { month: "short", day: "numeric" });
    weekNav();
    var query = "from=" + encodeURIComponent(from.toISOString()) + "&to=" + encodeURIComponent(to.toISOString()) + "&limit=500";
    if (state.providerId) query += "&provider_id=" + encodeURIComponent(state.providerId);
    var container = $("slots");
    container.textContent = "Loading free times…";
    return api("/api/v1/slots?" + query).then(function (result) {
      container.textContent = "";
      var items = result.body.items || [];
      if (items.length === 0) {
        container.textContent = "No free times this week. Try the next week or another provider.";
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
        });
        container.appendChild(group);
      });
    });
  }

  function describe(slot) {
    return dayLabel(localDate(slot.local_start)) + " at " + localTime(slot.local_start) +
      " with " + slot.provider.name + " (" + slot.timezone + ")";
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
    $("chosen").textContent = "You chose " + describe(slot) + ".";
    $("name").focus();
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
      patient: {
        name: $("name").value,
        email: $("email").value,
        phone: value("phone"),
        date_of_birth: value("date_of_birth")
      },
      reason: value("reason"),
      source: state.source || undefined,
      company_website: value("company_website")
    };
    $("submit").disabled = true;
    api("/api/v1/bookings", { method: "POST", body: body, idempotencyKey: state.key || (state.key = newKey()) })
      .then(function (result) {
        $("submit").disabled = false;
        if (result.status === 201) {
          state.key = null;
          $("choose").hidden = true;
          $("details").hidden = true;
          $("done").hidden = false;
          $("done-text").textContent = "Your appointment is on " + describe(state.chosen) + ".";
          $("done-reference").textContent = result.body.reference;
          $("done").focus();
          return;
        }
        state.key = null;
        if (result.status === 422 && result.body.errors) { showErrors(result.body); return; }
        $("form-error").textContent = result.body.detail || "Something went wrong. Please try again.";
        if (result.status === 409) loadWeek();
      })
      .catch(function () {
        $("submit").disabled = false;
        $("form-error").textContent = "We could not reach the clinic. Check your connection and try again.";
      });
  }

  function showBooking(booking) {
    var details = $("manage-details");
    details.textContent = "";
    [["Reference", booking.reference],
     ["When", describe({ local_start: booking.slot.local_start, provider: booking.provider, timezone: booking.slot.timezone })],
     ["Status", booking.status]].forEach(function (row) {
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
          showBooking(result.body);
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
  $("manage-cancel").addEventListener("click", cancel);
  $("manage-reschedule").addEventListener("click", function () {
    state.manage.moving = true;
    $("choose").hidden = false;
    $("choose-title").textContent = "Choose a new time";
  });

  if (state.manage) {
    $("title").textContent = "Manage your appointment";
    $("lead").hidden = true;
    $("choose").hidden = true;
    loadBooking();
  }
  loadProviders().then(loadWeek);
  loadPolicy();
})();
