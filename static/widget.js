// "Schedule an appointment", embeddable: paste
//   <div data-clinic-booking data-source="your-article-slug"></div>
//   <script src="https://booking.your-clinic.example/widget.js" async></script>
// into an article. It shows the next free times and books in place, through the clinic's API
// (the clinic lists the article's site in APP__HTTP__ALLOWED_ORIGINS), with a link to see more
// times on the booking page. `data-visit-type-id` books that visit type (the times offered are
// those where it fits); without it the widget offers a choice of the clinic's visit types,
// new-patient ones first. `data-provider-id` narrows both to one provider. In English and
// Spanish: `data-lang`, else the article's <html lang>, else the browser's languages, and a
// switch in the widget; the texts are the booking page's (/i18n/en.json, /i18n/es.json). No
// third-party code.
(function () {
  "use strict";

  var LANGUAGES = ["en", "es"];
  var script = document.currentScript;
  var origin = script ? new URL(script.src, window.location.href).origin : window.location.origin;
  var catalogs = {};
  var STYLE =
    ".cb-widget{font:16px/1.5 system-ui,sans-serif;border:1px solid #c9d3d9;border-radius:8px;padding:.75rem;max-width:32rem;color:#1d2a33;background:#fff;box-sizing:border-box;overflow-wrap:break-word}" +
    ".cb-widget *,.cb-widget *::before,.cb-widget *::after{box-sizing:border-box}" +
    ".cb-widget h2{font-size:1.25rem;margin:0 0 .25rem}" +
    ".cb-widget button,.cb-widget .cb-button{font:inherit;display:inline-flex;align-items:center;justify-content:center;min-height:44px;min-width:44px;padding:.4rem .8rem;border-radius:6px;border:1px solid #0b5c78;background:#fff;color:#0b5c78;cursor:pointer;text-decoration:none;text-align:center}" +
    ".cb-widget button[aria-pressed=true],.cb-widget button.cb-primary{background:#0b6e8f;color:#fff}" +
    ".cb-widget button:disabled{background:#e4e9ec;border-color:#c9d3d9;color:#5b6a73}" +
    ".cb-widget :focus-visible{outline:3px solid #174ea6;outline-offset:2px}" +
    ".cb-widget [tabindex='-1']:focus{outline:none}" +
    ".cb-widget label{display:block;font-weight:600;margin-top:.5rem}" +
    ".cb-widget input,.cb-widget select{font:inherit;width:100%;min-height:44px;padding:.4rem;border:1px solid #6b7a84;border-radius:4px;background:#fff;color:inherit}" +
    ".cb-widget input[aria-invalid=true]{border:2px solid #b3261e;background:#fff8f7}" +
    ".cb-widget .cb-lang{display:flex;justify-content:flex-end;gap:.5rem;margin-bottom:.25rem}" +
    ".cb-widget .cb-times{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.5rem;margin:.5rem 0}" +
    ".cb-widget .cb-more{display:inline-block;padding:.65rem 0;color:#0b5c78}" +
    ".cb-widget .cb-error{color:#b3261e;margin:.2rem 0 0;font-weight:600}" +
    ".cb-widget .cb-error:empty,.cb-widget .cb-summary:empty{display:none}" +
    ".cb-widget .cb-summary{margin:.5rem 0;padding:.5rem .75rem;border:2px solid #b3261e;border-radius:6px;color:#8c1d18;background:#fff8f7;font-weight:600}" +
    ".cb-widget .cb-chosen{background:#eef7fa;border:1px solid #b9d9e4;border-radius:6px;padding:.5rem .75rem;margin:.5rem 0;font-weight:600}" +
    ".cb-widget .cb-policy{font-size:.875rem;color:#3a4a54}" +
    ".cb-widget .cb-hold{font-size:.9rem;margin:.25rem 0}" +
    ".cb-widget .cb-actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:.75rem 0}" +
    ".cb-widget dl{margin:.5rem 0}.cb-widget dt{font-weight:600}.cb-widget dd{margin:0 0 .25rem}" +
    ".cb-widget .cb-submit{width:100%;margin-top:.75rem;font-weight:600}" +
    ".cb-widget .cb-sr{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}" +
    ".cb-widget .cb-trap{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function api(path, options) {
    options = options || {};
    var init = { method: options.method || "GET", headers: { "Accept": "application/json" } };
    if (options.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    if (options.key) init.headers["Idempotency-Key"] = options.key;
    if (options.token) init.headers["Authorization"] = "Bearer " + options.token;
    return fetch(origin + path, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json };
      });
    });
  }

  function catalog(lang) {
    if (!catalogs[lang]) {
      catalogs[lang] = fetch(origin + "/i18n/" + lang + ".json", { headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .catch(function () { return {}; });
    }
    return catalogs[lang];
  }

  function preferredLanguage(root) {
    var wanted = [root.getAttribute("data-lang"), document.documentElement.lang]
      .concat(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]);
    for (var i = 0; i < wanted.length; i += 1) {
      var code = String(wanted[i] || "").slice(0, 2).toLowerCase();
      if (LANGUAGES.indexOf(code) !== -1) return code;
    }
    return "en";
  }

  var mounted = 0;

  function mount(root) {
    mounted += 1;
    var prefix = "cb" + mounted + "-";
    var w = {
      source: root.getAttribute("data-source") || "",
      providerId: root.getAttribute("data-provider-id"),
      fixedType: root.getAttribute("data-visit-type-id"),
      typeId: root.getAttribute("data-visit-type-id"),
      lang: preferredLanguage(root),
      strings: {},
      types: [],
      policy: null,
      cta: null,
      ctaFailed: false,
      chosen: null,
      hold: null,
      holdAsked: 0,
      offerAsked: 0,
      errors: {},
      formError: null,
      booking: null,
      calendarError: false,
      values: { name: "", email: "", phone: "", company_website: "" },
      key: null
    };
    root.textContent = "";
    var box = el("section", { "class": "cb-widget", "aria-labelledby": prefix + "title", lang: w.lang });
    root.appendChild(box);

    function t(key, values) {
      var text = w.strings[key];
      if (typeof text !== "string") text = key;
      return text.replace(/\{(\w+)\}/g, function (whole, name) {
        return values && values[name] !== undefined ? String(values[name]) : whole;
      });
    }
    function locale() { return w.lang === "es" ? "es-US" : "en-US"; }
    function plural(key, n, values) {
      var form = new Intl.PluralRules(locale()).select(n) === "one" ? "one" : "other";
      var all = { n: n };
      Object.keys(values || {}).forEach(function (k) { all[k] = values[k]; });
      return t(key + "." + form, all);
    }
    function format(instant, timeZone, options) {
      var o = { timeZone: timeZone };
      Object.keys(options).forEach(function (k) { o[k] = options[k]; });
      return new Intl.DateTimeFormat(locale(), o).format(new Date(instant));
    }
    function timeLabel(slot) {
      return format(slot.start, slot.timezone, { weekday: "short", month: "short", day: "numeric" }) + ", " +
        format(slot.start, slot.timezone, { hour: "numeric", minute: "2-digit" });
    }
    function describe(slot) {
      return t("when.range", {
        day: format(slot.start, slot.timezone, { weekday: "long", month: "long", day: "numeric" }),
        start: format(slot.start, slot.timezone, { hour: "numeric", minute: "2-digit" }),
        end: format(slot.end, slot.timezone, { hour: "numeric", minute: "2-digit", timeZoneName: "short" })
      });
    }
    function duration(minutes) {
      if (minutes >= 2880 && minutes % 1440 === 0) return plural("unit.day", minutes / 1440);
      if (minutes >= 60 && minutes % 60 === 0) return plural("unit.hour", minutes / 60);
      return plural("unit.minute", minutes);
    }
    function type() {
      return w.types.filter(function (v) { return String(v.id) === String(w.typeId); })[0] || null;
    }
    function phone() { return (w.cta && w.cta.clinic && w.cta.clinic.phone) || (w.policy && w.policy.clinic_phone) || ""; }
    function tel(number) { return "tel:" + String(number).replace(/[^0-9+]/g, ""); }
    function bookUrl(extra) {
      var q = new URLSearchParams();
      if (w.source) q.set("source", w.source);
      if (w.providerId) q.set("provider_id", w.providerId);
      if (w.typeId) q.set("visit_type_id", w.typeId);
      Object.keys(extra || {}).forEach(function (k) { q.set(k, extra[k]); });
      q.set("lang", w.lang);
      return origin + "/book?" + q.toString();
    }
    function refusal(result) {
      var body = result.body || {};
      if (body.rule) return t("refusal." + body.rule, { phone: body.clinic_phone || phone() });
      if (body.slot_id !== undefined) return t("refusal.slot_taken");
      if (/returning patients/.test(body.detail || "")) {
        return t("refusal.returning", { visit: type() ? type().name : "", phone: phone() });
      }
      if (result.status === 429) return t("refusal.too_many");
      return w.lang === "en" && body.detail ? body.detail : t("error.generic", { phone: phone() });
    }

    // The whole widget is drawn from `w`; what the patient typed and where the focus was are
    // kept across a redraw (a language switch, an answer).
    function render(focusKey) {
      var active = document.activeElement;
      var keep = focusKey || (active && box.contains(active) ? active.getAttribute("data-key") : null);
      Array.prototype.forEach.call(box.querySelectorAll("input[data-key]"), function (input) {
        w.values[input.name] = input.value;
      });
      box.setAttribute("lang", w.lang);
      box.textContent = "";
      var switcher = el("div", { "class": "cb-lang", role: "group", "aria-label": t("lang.label") });
      LANGUAGES.forEach(function (code) {
        var b = el("button", { type: "button", lang: code, "aria-pressed": String(code === w.lang), "data-key": "lang-" + code },
          code === "en" ? "English" : "Español");
        b.addEventListener("click", function () { switchTo(code); });
        switcher.appendChild(b);
      });
      box.appendChild(switcher);
      if (w.booking) {
        renderBooked();
      } else {
        renderOffer();
      }
      var target = keep ? box.querySelector("[data-key='" + keep + "']") : null;
      if (target) target.focus();
    }

    function renderOffer() {
      var english = w.lang === "en" && w.cta;
      box.appendChild(el("h2", { id: prefix + "title", tabindex: "-1", "data-key": "title" },
        english ? w.cta.headline : t("widget.headline")));
      box.appendChild(el("p", {}, english ? w.cta.text : t("widget.text")));
      if (!w.fixedType && w.types.length) {
        box.appendChild(el("label", { "for": prefix + "type" }, t("widget.visit_type")));
        var select = el("select", { id: prefix + "type", name: "visit_type", "data-key": "type" });
        w.types.forEach(function (v) {
          var option = el("option", { value: String(v.id) }, v.name + " · " + plural("unit.minute", v.duration_minutes) +
            (v.new_patients_online ? "" : " (" + t("visit.for_returning") + ")"));
          select.appendChild(option);
        });
        select.value = String(w.typeId);
        select.addEventListener("change", function () {
          w.typeId = select.value;
          loadOffer();
        });
        box.appendChild(select);
      }
      if (w.ctaFailed) {
        box.appendChild(el("p", { role: "alert" }, t("widget.unavailable", { phone: phone() })));
        return;
      }
      if (!w.cta) {
        box.appendChild(el("p", {}, t("choose.loading")));
        return;
      }
      var more = el("a", { "class": "cb-more", href: bookUrl(), "data-key": "more" }, t("widget.more"));
      if (!w.cta.items.length) {
        box.appendChild(el("p", {}, t("widget.none", { phone: phone() })));
        box.appendChild(more);
        return;
      }
      box.appendChild(el("p", { id: prefix + "times-title" }, t("widget.times")));
      var times = el("div", { "class": "cb-times", role: "group", "aria-labelledby": prefix + "times-title" });
      var stop = null;
      w.cta.items.forEach(function (slot) {
        var chosen = w.chosen && w.chosen.id === slot.id;
        var button = el("button", { type: "button", "aria-pressed": String(Boolean(chosen)), "data-slot-id": String(slot.id),
          "data-key": "slot-" + slot.id, tabindex: "-1" }, timeLabel(slot) + " · " + slot.provider.name);
        button.addEventListener("click", function () { choose(slot); });
        times.appendChild(button);
        if (chosen || !stop) stop = chosen ? button : stop || button;
      });
      if (stop) stop.setAttribute("tabindex", "0");
      rove(times);
      box.appendChild(times);
      box.appendChild(more);
      if (w.chosen) renderForm();
    }

    function field(form, name, label, type, autocomplete) {
      var id = prefix + name;
      form.appendChild(el("label", { "for": id }, label));
      var input = el("input", { id: id, name: name, type: type, autocomplete: autocomplete, "data-key": name,
        "aria-describedby": id + "-error" });
      if (name !== "phone") { input.required = true; input.setAttribute("aria-required", "true"); }
      input.value = w.values[name] || "";
      if (w.errors[name]) input.setAttribute("aria-invalid", "true");
      form.appendChild(input);
      form.appendChild(el("p", { "class": "cb-error", id: id + "-error" }, w.errors[name] ? t(w.errors[name]) : ""));
    }

    function renderForm() {
      var form = el("form", { novalidate: "", "aria-label": t("details.title_plain") });
      var slot = w.chosen;
      var v = type();
      form.appendChild(el("p", { "class": "cb-chosen" }, t("chosen.text", {
        visit: v ? t("visit.label", { name: v.name, length: plural("unit.minute", v.duration_minutes) }) : t("visit.appointment"),
        when: describe(slot),
        provider: slot.provider.name
      })));
      // Not a live region: it changes every second.
      var holdNote = el("p", { "class": "cb-hold" });
      holdNote.hidden = !w.hold;
      form.appendChild(holdNote);
      w.holdNote = holdNote;
      tick();
      var wrong = [];
      ["name", "email", "phone"].forEach(function (f) { if (w.errors[f]) wrong.push(t("field." + f)); });
      var summary = el("div", { "class": "cb-summary", role: "alert" },
        wrong.length ? plural("error.summary", wrong.length, { fields: wrong.join(", ") }) : "");
      form.appendChild(summary);
      field(form, "name", t("field.name"), "text", "name");
      field(form, "email", t("field.email"), "email", "email");
      field(form, "phone", t("field.phone") + " " + t("field.optional"), "tel", "tel");
      var trap = el("div", { "class": "cb-trap", "aria-hidden": "true" });
      var trapInput = el("input", { name: "company_website", tabindex: "-1", autocomplete: "off", "data-key": "trap" });
      trapInput.value = w.values.company_website || "";
      trap.appendChild(trapInput);
      form.appendChild(trap);
      if (w.policy) {
        var p = w.policy;
        form.appendChild(el("p", { "class": "cb-policy" }, t("policy.summary", {
          notice: duration(p.min_notice_minutes),
          horizon: duration(p.horizon_days * 1440),
          cutoff: duration(p.cancel_cutoff_hours * 60),
          max: p.max_active_per_email
        }) + (p.text ? " " + p.text : "")));
      }
      form.appendChild(el("p", { "class": "cb-error", role: "alert", tabindex: "-1", "data-key": "form-error" },
        w.formError ? w.formError() : ""));
      var submit = el("button", { type: "submit", "class": "cb-primary cb-submit", "data-key": "submit" }, t("details.submit"));
      form.appendChild(submit);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        book(submit);
      });
      box.appendChild(form);
    }

    function renderBooked() {
      var b = w.booking;
      box.appendChild(el("h2", { id: prefix + "title", tabindex: "-1", "data-key": "booked" }, t("done.title")));
      var dl = el("dl");
      var rows = [
        [t("details.visit"), b.visit_type ? t("visit.label", { name: b.visit_type.name, length: plural("unit.minute", b.visit_type.duration_minutes) }) : t("visit.appointment")],
        [t("details.when"), describe(b.slot)],
        [t("details.with"), b.provider.name]
      ];
      if (b.location) {
        rows.push([t("details.where"), b.location.name + ", " + b.location.address]);
        rows.push([t("details.phone"), b.location.phone, tel(b.location.phone)]);
      }
      rows.push([t("details.reference"), b.reference, null, "cb-reference"]);
      rows.forEach(function (row) {
        dl.appendChild(el("dt", {}, row[0]));
        var dd = el("dd", row[3] ? { "class": row[3] } : {});
        if (row[2]) dd.appendChild(el("a", { href: row[2] }, row[1]));
        else dd.textContent = row[1];
        dl.appendChild(dd);
      });
      box.appendChild(dl);
      box.appendChild(el("p", {}, t("done.next_email")));
      var actions = el("div", { "class": "cb-actions" });
      var calendar = el("button", { type: "button", "data-key": "calendar" }, t("calendar.add"));
      calendar.addEventListener("click", addToCalendar);
      actions.appendChild(calendar);
      actions.appendChild(el("a", { "class": "cb-button cb-manage", "data-key": "manage",
        href: bookUrl({ reference: b.reference, token: b.manage_token }) }, t("done.manage")));
      box.appendChild(actions);
      box.appendChild(el("p", { "class": "cb-error", role: "alert" }, w.calendarError ? t("calendar.error") : ""));
    }

    function rove(container) {
      container.addEventListener("keydown", function (event) {
        var items = Array.prototype.slice.call(container.querySelectorAll("button"));
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
        items.forEach(function (b) { b.setAttribute("tabindex", b === items[next] ? "0" : "-1"); });
        items[next].focus();
      });
    }

    function switchTo(code) {
      catalog(code).then(function (strings) {
        w.lang = code;
        w.strings = strings;
        render();
      });
    }

    // The chosen time is kept for the patient while they type (POST /api/v1/holds); choosing
    // another lets the previous one go in the same request (`replaces`).
    function release(token) {
      fetch(origin + "/api/v1/holds/current", { method: "DELETE", keepalive: true, headers: { "Authorization": "Bearer " + token } })
        .catch(function () {});
    }
    function stopHold() {
      if (w.hold) window.clearInterval(w.hold.timer);
    }
    function tick() {
      var note = w.holdNote;
      if (!note || !w.hold) return;
      var left = Math.max(0, Math.round((w.hold.endsAt - Date.now()) / 1000));
      note.hidden = false;
      note.textContent = left > 0
        ? t("widget.holding", { time: Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2) })
        : t("hold.expired");
      if (left === 0) window.clearInterval(w.hold.timer);
    }
    window.addEventListener("pagehide", function () {
      w.holdAsked += 1;
      stopHold();
      if (w.hold) release(w.hold.token);
      w.hold = null;
    });

    function choose(slot) {
      w.chosen = slot;
      w.formError = null;
      render("name");
      if (w.hold && w.hold.slotId === slot.id && w.hold.endsAt > Date.now()) return;
      var mine = w.holdAsked += 1;
      var previous = w.hold;
      stopHold();
      w.hold = null;
      api("/api/v1/holds", { method: "POST", body: {
        slot_id: slot.id,
        visit_type_id: w.typeId ? Number(w.typeId) : undefined,
        replaces: previous ? previous.token : undefined
      } }).then(function (result) {
        if (mine !== w.holdAsked) {
          if (result.status === 201) release(result.body.token);
          return;
        }
        if (result.status !== 201) {
          // Refused, the previous hold was not let go: still the patient's to replace.
          w.hold = previous;
          if (result.status === 409) {
            w.formError = function () { return refusal(result); };
            render("form-error");
          }
          return;
        }
        w.hold = { token: result.body.token, slotId: slot.id, endsAt: Date.now() + result.body.seconds_left * 1000 };
        w.hold.timer = window.setInterval(tick, 1000);
        tick();
      }).catch(function () {});
    }

    function check() {
      var errors = {};
      var value = function (name) { return (w.values[name] || "").trim(); };
      if (!value("name")) errors.name = "error.name.missing";
      else if (value("name").length > 100) errors.name = "error.name.invalid";
      if (!value("email")) errors.email = "error.email.missing";
      else if (!/^[^\s@"]+@[^\s@]+\.[^\s@]+$/.test(value("email"))) errors.email = "error.email.invalid";
      var number = value("phone");
      if (number) {
        var digits = number.replace(/\D/g, "").length;
        if (!/^\+?[0-9 ().-]+$/.test(number) || digits < 7 || digits > 15) errors.phone = "error.phone.invalid";
      }
      return errors;
    }

    // The first invalid field in the form's order takes the focus; the summary is announced.
    function firstWrong() {
      return ["name", "email", "phone"].filter(function (f) { return w.errors[f]; })[0] || null;
    }

    function book(submit) {
      Array.prototype.forEach.call(box.querySelectorAll("input[data-key]"), function (input) {
        w.values[input.name] = input.value;
      });
      w.formError = null;
      w.errors = check();
      if (firstWrong()) { render(firstWrong()); return; }
      w.key = w.key || String(Date.now()) + "-" + Math.random().toString(36).slice(2);
      var v = function (name) { var s = (w.values[name] || "").trim(); return s || undefined; };
      var body = {
        slot_id: w.chosen.id,
        visit_type_id: w.typeId ? Number(w.typeId) : undefined,
        patient: { name: w.values.name, email: w.values.email, phone: v("phone"), language: w.lang },
        source: w.source || undefined,
        company_website: v("company_website"),
        hold_token: w.hold ? w.hold.token : undefined
      };
      submit.disabled = true;
      api("/api/v1/bookings", { method: "POST", body: body, key: w.key }).then(function (result) {
        submit.disabled = false;
        if (result.status === 201) {
          // The hold became this booking.
          stopHold();
          w.hold = null;
          w.holdAsked += 1;
          w.booking = result.body;
          render("booked");
          return;
        }
        w.key = null;
        var errors = (result.body && result.body.errors) || {};
        var shown = {};
        Object.keys(errors).forEach(function (k) {
          var f = k.replace(/^patient\./, "");
          if (["name", "email", "phone"].indexOf(f) !== -1) {
            shown[f] = "error." + f + (/required/.test(String(errors[k])) ? ".missing" : ".invalid");
          }
        });
        w.errors = shown;
        if (firstWrong()) { render(firstWrong()); return; }
        w.formError = function () { return refusal(result); };
        render("form-error");
      }).catch(function () {
        submit.disabled = false;
        w.formError = function () { return t("error.network"); };
        render("form-error");
      });
    }

    function addToCalendar() {
      var b = w.booking;
      w.calendarError = false;
      fetch(origin + "/api/v1/bookings/" + encodeURIComponent(b.reference) + "/calendar.ics", {
        headers: { "Accept": "text/calendar", "Authorization": "Bearer " + b.manage_token }
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.blob();
      }).then(function (blob) {
        var url = URL.createObjectURL(new Blob([blob], { type: "text/calendar" }));
        var link = el("a", { href: url, download: b.reference + ".ics" });
        link.hidden = true;
        document.body.appendChild(link);
        link.click();
        link.remove();
        window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      }).catch(function () {
        w.calendarError = true;
        render();
      });
    }

    // The call to action's next times for the visit type chosen (or plain slots, without one).
    function loadOffer() {
      var query = [];
      if (w.providerId) query.push("provider_id=" + encodeURIComponent(w.providerId));
      if (w.typeId) query.push("visit_type_id=" + encodeURIComponent(w.typeId));
      var asked = w.offerAsked += 1;
      w.cta = null;
      w.ctaFailed = false;
      w.chosen = null;
      render();
      return api("/api/v1/schedule-appointment" + (query.length ? "?" + query.join("&") : "")).then(function (result) {
        if (asked !== w.offerAsked) return;
        if (result.status !== 200) w.ctaFailed = true;
        else w.cta = result.body;
        render();
      }, function () {
        if (asked !== w.offerAsked) return;
        w.ctaFailed = true;
        render();
      });
    }

    var types = w.fixedType ? Promise.resolve() : api("/api/v1/visit-types").then(function (result) {
      var all = (result.status === 200 && result.body.items) || [];
      w.types = all.filter(function (v) {
        return !w.providerId || v.provider_ids.indexOf(Number(w.providerId)) !== -1;
      }).sort(function (a, b) { return Number(b.new_patients_online) - Number(a.new_patients_online); });
      if (w.types.length) w.typeId = String(w.types[0].id);
    }, function () {});
    var policy = api("/api/v1/booking-policy").then(function (result) {
      if (result.status === 200) w.policy = result.body;
    }, function () {});
    Promise.all([catalog(w.lang), types, policy]).then(function (answers) {
      w.strings = answers[0];
      loadOffer();
    });
  }

  function start() {
    if (!document.getElementById("cb-widget-style")) {
      var style = el("style", { id: "cb-widget-style" }, STYLE);
      document.head.appendChild(style);
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-clinic-booking]"), mount);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
