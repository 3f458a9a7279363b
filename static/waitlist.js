// The waitlist page. Without parameters it is the form that puts a patient on the waitlist. The
// mails' links open it with a token: ?verify=… confirms the address (the entry counts from then
// on), ?entry=… shows the entry and lets the patient leave, ?offer=… shows a time held for them
// (with &answer=accept it books it at once: the mail's one-click link; &answer=decline gives it
// to the next patient). In English and Spanish (the switch, else ?lang=, else the browser's
// languages; the texts are the `waitlist.` keys of /i18n/en.json and /i18n/es.json), and the
// patient's language goes with the join, so the clinic's mails use it. Plain JavaScript against
// the public API; tokens go in the Authorization header, never into another request's address.
(function () {
  "use strict";

  var LANGUAGES = ["en", "es"];
  var params = new URLSearchParams(window.location.search);
  var clinicPhone = "";
  var state = {
    lang: "en",
    switched: false,
    strings: {},
    catalogs: {},
    // What the page says in words that depend on the language: re-said when it changes.
    sayings: {},
    // Draws the section shown from its data again, in the language now chosen.
    redraw: null,
    // The join form's field errors: field → {key, values}.
    fieldErrors: {},
    visitTypes: []
  };

  function $(id) { return document.getElementById(id); }

  // --- texts -------------------------------------------------------------------------------

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

  // Sets an element's text from a function of the language, and says it again when it changes.
  function sayIn(id, words) {
    state.sayings[id] = words;
    $(id).textContent = words ? words() : "";
  }

  function sayAgain() {
    Object.keys(state.sayings).forEach(function (id) {
      var words = state.sayings[id];
      $(id).textContent = words ? words() : "";
    });
  }

  function say(key, values) {
    sayIn("status", key ? function () { return t(key, values); } : null);
  }

  function setTitle(key) {
    $("title").setAttribute("data-i18n", key);
    $("title").textContent = t(key);
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
    // /book opens in the language chosen here.
    $("see-times").href = withLanguage("/book");
  }

  function withLanguage(href) {
    return href + (href.indexOf("?") === -1 ? "?" : "&") + "lang=" + state.lang;
  }

  function setLanguage(lang) {
    return catalog(lang).then(function (strings) {
      state.lang = lang;
      state.strings = strings;
      applyStatic();
      sayAgain();
      fillVisitTypes();
      showFieldErrors();
      if (state.redraw) state.redraw();
      if (params.get("lang") || state.switched) {
        params.set("lang", lang);
        window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
      }
    }, function () {
      // Without the catalog the page keeps the English it was written in.
    });
  }

  // --- dates -------------------------------------------------------------------------------

  // "2026-11-26T08:00:00-07:00" is the location's wall-clock time: show it as written.
  function when(stamp) {
    var instant = Date.UTC(Number(stamp.slice(0, 4)), Number(stamp.slice(5, 7)) - 1, Number(stamp.slice(8, 10)),
      Number(stamp.slice(11, 13)), Number(stamp.slice(14, 16)));
    return new Intl.DateTimeFormat(locale(), {
      timeZone: "UTC", weekday: "long", month: "long", day: "numeric", hour: "numeric", minute: "2-digit"
    }).format(new Date(instant));
  }

  // An instant ("…Z"), in a zone (else this browser's), with the zone named.
  function instantIn(stamp, timeZone, options) {
    var o = { timeZoneName: "short" };
    if (timeZone) o.timeZone = timeZone;
    Object.keys(options).forEach(function (k) { o[k] = options[k]; });
    try {
      return new Intl.DateTimeFormat(locale(), o).format(new Date(stamp));
    } catch (e) {
      delete o.timeZone;
      return new Intl.DateTimeFormat(locale(), o).format(new Date(stamp));
    }
  }

  // A calendar day, "YYYY-MM-DD".
  function dateOf(day) {
    var p = day.split("-");
    return new Intl.DateTimeFormat(locale(), { timeZone: "UTC", weekday: "long", month: "long", day: "numeric", year: "numeric" })
      .format(new Date(Date.UTC(Number(p[0]), Number(p[1]) - 1, Number(p[2]), 12)));
  }

  function visitLabel(type) {
    return t(type.new_patients_online === false ? "waitlist.visit.label_returning" : "waitlist.visit.label", {
      name: type.name,
      length: plural("waitlist.unit.minute", type.duration_minutes)
    });
  }

  // --- the API -----------------------------------------------------------------------------

  function api(path, options) {
    options = options || {};
    var headers = { "Accept": "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.token) headers["Authorization"] = "Bearer " + options.token;
    return fetch(path, {
      method: options.method || "GET",
      headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    }, function () {
      return { status: 0, body: {} };
    });
  }

  function details(list, rows) {
    list.textContent = "";
    rows.forEach(function (row) {
      if (!row[1]) return;
      var dt = document.createElement("dt");
      dt.textContent = row[0];
      var dd = document.createElement("dd");
      dd.textContent = row[1];
      list.appendChild(dt);
      list.appendChild(dd);
    });
  }

  // A refusal in words the patient can act on, with the clinic's phone: the API's own words
  // in English, else the page's.
  function problem(result, fallbackKey) {
    sayIn("problem", function () {
      var detail = result.body && result.body.detail;
      var text = state.lang === "en" && detail ? detail : t(fallbackKey);
      if (result.status === 401) text = t("waitlist.error.link");
      if (result.status === 0) text = t("waitlist.error.network");
      if (clinicPhone) text += " " + t("waitlist.error.call", { phone: clinicPhone });
      return text;
    });
    $("problem").focus();
  }

  function clearProblem() { sayIn("problem", null); }

  function show(id) {
    ["offer", "booked", "entry", "join"].forEach(function (section) {
      $(section).hidden = section !== id;
    });
  }

  // --- an offer ----------------------------------------------------------------------------

  var offerTimer = null;

  function countdown(seconds) {
    var endsAt = Date.now() + seconds * 1000;
    clearInterval(offerTimer);
    function tick() {
      var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
      $("offer-timer").textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left === 0) {
        clearInterval(offerTimer);
        sayIn("offer-hold-text", function () { return t("waitlist.offer.ran_out"); });
        $("offer-accept").disabled = true;
        $("offer-decline").disabled = true;
      }
    }
    tick();
    offerTimer = setInterval(tick, 1000);
  }

  function offerState(offer) {
    return {
      accepted: function () { return t("waitlist.offer.accepted"); },
      declined: function () { return t("waitlist.offer.declined"); },
      expired: function () {
        return t("waitlist.offer.expired", {
          time: instantIn(offer.expires_at, offer.slot && offer.slot.timezone, { hour: "numeric", minute: "2-digit" })
        });
      }
    }[offer.status] || null;
  }

  function drawOffer(offer) {
    details($("offer-details"), [
      [t("waitlist.detail.when"), when(offer.slot.local_start)],
      [t("waitlist.detail.visit"), visitLabel(offer.visit_type)],
      [t("waitlist.detail.with"), offer.provider.name],
      [t("waitlist.detail.where"), offer.location.name + (offer.location.address ? ", " + offer.location.address : "")],
      [t("waitlist.detail.moves"), offer.move_booking ? t("waitlist.offer.moves", { reference: offer.move_booking }) : ""]
    ]);
  }

  function showOffer(token, offer) {
    show("offer");
    setTitle("waitlist.title.offer");
    drawOffer(offer);
    state.redraw = function () { drawOffer(offer); };
    var open = offer.status === "offered" && offer.seconds_left > 0;
    $("offer-accept").disabled = !open;
    $("offer-decline").disabled = !open;
    if (open) {
      sayIn("offer-hold-text", function () { return t("waitlist.offer.holding"); });
      countdown(offer.seconds_left);
    } else {
      sayIn("offer-hold-text", offerState(offer));
      $("offer-timer").textContent = "";
    }
    $("offer-title").focus();
    return open;
  }

  function drawBooked(b) {
    details($("booked-details"), [
      [t("waitlist.detail.when"), when(b.slot.local_start)],
      [t("waitlist.detail.with"), b.provider.name],
      [t("waitlist.detail.where"), b.location.name + (b.location.address ? ", " + b.location.address : "")],
      [t("waitlist.detail.reference"), b.reference]
    ]);
    $("booked-manage").href = "/book?reference=" + encodeURIComponent(b.reference) + "&token=" +
      encodeURIComponent(b.manage_token) + "&lang=" + state.lang;
  }

  function accept(token) {
    $("offer-accept").disabled = true;
    say("waitlist.offer.booking");
    return api("/api/v1/waitlist/offers/current/accept", { method: "POST", token: token }).then(function (result) {
      say(null);
      if (result.status !== 201) {
        problem(result, "waitlist.error.book");
        return loadOffer(token, false);
      }
      clearInterval(offerTimer);
      var b = result.body;
      show("booked");
      setTitle("waitlist.title.booked");
      drawBooked(b);
      state.redraw = function () { drawBooked(b); };
      $("booked-title").focus();
    });
  }

  function decline(token) {
    $("offer-decline").disabled = true;
    return api("/api/v1/waitlist/offers/current/decline", { method: "POST", token: token }).then(function (result) {
      if (result.status !== 204) {
        problem(result, "waitlist.error.decline");
        return loadOffer(token, false);
      }
      clearInterval(offerTimer);
      $("offer-accept").disabled = true;
      sayIn("offer-hold-text", function () { return t("waitlist.offer.thanks"); });
      $("offer-timer").textContent = "";
      say("waitlist.offer.declined_status");
    });
  }

  function loadOffer(token, answer) {
    return api("/api/v1/waitlist/offers/current", { token: token }).then(function (result) {
      if (result.status !== 200) {
        show(null);
        setTitle("waitlist.title.plain");
        state.redraw = null;
        return problem(result, "waitlist.error.offer_missing");
      }
      var open = showOffer(token, result.body);
      if (open && answer === "accept") return accept(token);
      if (open && answer === "decline") return decline(token);
    });
  }

  // --- an entry ----------------------------------------------------------------------------

  function entryStatus(status) {
    switch (status) {
      case "unverified": return t("waitlist.entry.status.unverified");
      case "waiting": return t("waitlist.entry.status.waiting");
      case "booked": return t("waitlist.entry.status.booked");
      case "removed": return t("waitlist.entry.status.removed");
      default: return status;
    }
  }

  function drawEntry(entry) {
    details($("entry-details"), [
      [t("waitlist.detail.reference"), entry.reference],
      [t("waitlist.detail.status"), entryStatus(entry.status)],
      [t("waitlist.detail.visit"), entry.visit_type.name],
      [t("waitlist.detail.from"), dateOf(entry.earliest_date)],
      [t("waitlist.detail.until"), dateOf(entry.latest_date)],
      [t("waitlist.detail.days"), entry.days.length === 7 ? t("waitlist.entry.any_day")
        : list(entry.days.map(function (d) { return t("waitlist.day." + d); }))],
      [t("waitlist.detail.times"), entry.times.length === 3 ? t("waitlist.entry.any_time")
        : list(entry.times.map(function (p) { return t("waitlist.time." + p); }))],
      [t("waitlist.detail.held"), entry.offer ? t("waitlist.entry.held", {
        when: instantIn(entry.offer.start, null, { weekday: "long", month: "long", day: "numeric", hour: "numeric", minute: "2-digit" })
      }) : ""]
    ]);
  }

  function showEntry(token, entry) {
    show("entry");
    setTitle("waitlist.title.entry");
    drawEntry(entry);
    state.redraw = function () { drawEntry(entry); };
    var canLeave = entry.status === "waiting" || entry.status === "unverified";
    $("entry-leave").hidden = !canLeave;
    $("entry-leave").onclick = function () {
      if (!window.confirm(t("waitlist.entry.leave_confirm"))) return;
      api("/api/v1/waitlist/current", { method: "DELETE", token: token }).then(function (result) {
        if (result.status !== 204) return problem(result, "waitlist.error.leave");
        say("waitlist.entry.left");
        entry.status = "removed";
        entry.offer = null;
        showEntry(token, entry);
      });
    };
    $("entry-title").focus();
  }

  function loadEntry(token) {
    return api("/api/v1/waitlist/current", { token: token }).then(function (result) {
      if (result.status !== 200) return problem(result, "waitlist.error.entry_missing");
      showEntry(token, result.body);
    });
  }

  function verify(token) {
    return api("/api/v1/waitlist/verify", { method: "POST", token: token }).then(function (result) {
      if (result.status !== 200) return problem(result, "waitlist.error.verify");
      say("waitlist.verified");
      showEntry(result.body.token, result.body);
    });
  }

  // --- joining -----------------------------------------------------------------------------

  function iso(date) { return date.toISOString().slice(0, 10); }

  function checked(name) {
    return Array.prototype.slice.call(document.querySelectorAll("input[name='" + name + "']:checked"))
      .map(function (input) { return input.value; });
  }

  // The API's field names, in form order, and their inputs.
  var INPUTS = [
    ["earliest_date", "earliest"], ["latest_date", "latest"],
    ["patient.name", "name"], ["patient.email", "email"], ["patient.phone", "phone"]
  ];

  // The API's reason for a field, as one of the page's texts.
  function errorText(field, message, value) {
    message = String(message || "");
    if (field === "latest_date") {
      if (/past/.test(message)) return { key: "waitlist.error.latest_date.past" };
      if (/before/.test(message)) return { key: "waitlist.error.latest_date.before" };
      var most = /at most (\d+) days/.exec(message);
      if (most) return { key: "waitlist.error.latest_date.too_long", values: { days: most[1] } };
    }
    var name = field.replace(/^patient\./, "");
    return { key: "waitlist.error." + name + (value.trim() === "" ? ".missing" : ".invalid") };
  }

  function showFieldErrors() {
    var first = null;
    INPUTS.forEach(function (pair) {
      var error = state.fieldErrors[pair[0]];
      var input = $(pair[1]);
      $(pair[0] + "-error").textContent = error ? t(error.key, error.values) : "";
      if (error) {
        input.setAttribute("aria-invalid", "true");
        if (!first) first = input;
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
    return first;
  }

  function join(event) {
    event.preventDefault();
    var providerId = $("provider").value;
    var body = {
      visit_type_id: parseInt($("visit-type").value, 10),
      provider_id: providerId ? parseInt(providerId, 10) : null,
      earliest_date: $("earliest").value,
      latest_date: $("latest").value,
      days: checked("days"),
      times: checked("times"),
      patient: {
        name: $("name").value,
        email: $("email").value,
        phone: $("phone").value || null,
        // Every mail about the entry, its offers and the booking is written in it.
        language: state.lang
      },
      company_website: $("company_website").value
    };
    $("join-submit").disabled = true;
    api("/api/v1/waitlist", { method: "POST", body: body }).then(function (result) {
      $("join-submit").disabled = false;
      if (result.status === 422 && result.body.errors) {
        state.fieldErrors = {};
        INPUTS.forEach(function (pair) {
          var message = result.body.errors[pair[0]];
          if (message) state.fieldErrors[pair[0]] = errorText(pair[0], message, $(pair[1]).value);
        });
        var first = showFieldErrors();
        sayIn("problem", function () { return t("waitlist.error.check"); });
        (first || $("problem")).focus();
        return;
      }
      if (result.status !== 201) return problem(result, "waitlist.error.join");
      state.fieldErrors = {};
      showFieldErrors();
      clearProblem();
      say("waitlist.join.done");
      showEntry(result.body.token, result.body);
    });
  }

  function fillVisitTypes() {
    var select = $("visit-type");
    if (!state.visitTypes.length) return;
    var chosen = select.value;
    select.textContent = "";
    state.visitTypes.forEach(function (v) {
      var option = document.createElement("option");
      option.value = v.id;
      option.textContent = visitLabel(v);
      select.appendChild(option);
    });
    if (chosen) select.value = chosen;
  }

  function loadForm() {
    show("join");
    var today = new Date();
    $("earliest").value = iso(today);
    $("latest").value = iso(new Date(today.getTime() + 30 * 86400000));
    Promise.all([api("/api/v1/visit-types"), api("/api/v1/providers")]).then(function (results) {
      // Visits new patients may book first; those for returning patients say so.
      state.visitTypes = (results[0].body.items || results[0].body || []).slice().sort(function (a, b) {
        return (b.new_patients_online ? 1 : 0) - (a.new_patients_online ? 1 : 0);
      }).map(function (v) {
        return { id: v.id, name: v.name, duration_minutes: v.duration_minutes, new_patients_online: !!v.new_patients_online };
      });
      fillVisitTypes();
      var wanted = params.get("visit_type_id");
      if (wanted) $("visit-type").value = wanted;
      var providers = (results[1].body.items || results[1].body || []);
      providers.forEach(function (p) {
        var option = document.createElement("option");
        option.value = p.id;
        option.textContent = p.name;
        $("provider").appendChild(option);
      });
      if (params.get("provider_id")) $("provider").value = params.get("provider_id");
    });
    $("join").addEventListener("submit", join);
  }

  Array.prototype.forEach.call(document.querySelectorAll(".lang-option"), function (button) {
    button.addEventListener("click", function () {
      state.switched = true;
      setLanguage(button.getAttribute("data-lang"));
    });
  });

  var language = setLanguage(preferredLanguage());
  var policy = api("/api/v1/booking-policy").then(function (result) {
    if (result.status === 200) clinicPhone = result.body.clinic_phone || "";
  });
  Promise.all([language, policy]).finally(function () {
    if (params.get("offer")) {
      loadOffer(params.get("offer"), params.get("answer"));
      $("offer-accept").addEventListener("click", function () { accept(params.get("offer")); });
      $("offer-decline").addEventListener("click", function () { decline(params.get("offer")); });
    } else if (params.get("verify")) {
      verify(params.get("verify"));
    } else if (params.get("entry")) {
      loadEntry(params.get("entry"));
    } else {
      loadForm();
    }
  });
})();
