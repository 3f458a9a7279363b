// "Schedule an appointment", embeddable: paste
//   <div data-clinic-booking data-source="your-article-slug"></div>
//   <script src="https://booking.your-clinic.example/widget.js" async></script>
// into an article. It shows the next free times and books in place, through the clinic's API
// (the clinic lists the article's site in APP__HTTP__ALLOWED_ORIGINS). `data-visit-type-id`
// books that visit type (the times offered are those where it fits); without it the widget
// offers a choice of the clinic's visit types, new-patient ones first. `data-provider-id`
// narrows both to one provider. No third-party code.
(function () {
  "use strict";

  var script = document.currentScript;
  var origin = script ? new URL(script.src, window.location.href).origin : window.location.origin;
  var STYLE =
    ".cb-widget{font:16px/1.5 system-ui,sans-serif;border:1px solid #c9d3d9;border-radius:8px;padding:1rem;max-width:32rem;color:#1d2a33;background:#fff}" +
    ".cb-widget h2{font-size:1.25rem;margin:0 0 .25rem}" +
    ".cb-widget button{font:inherit;padding:.4rem .8rem;border-radius:4px;border:1px solid #0b5c78;background:#fff;color:#0b5c78;cursor:pointer;margin:.2rem}" +
    ".cb-widget button[aria-pressed=true],.cb-widget button.cb-primary{background:#0b6e8f;color:#fff}" +
    ".cb-widget label{display:block;font-weight:600;margin-top:.5rem}" +
    ".cb-widget input,.cb-widget select{font:inherit;width:100%;box-sizing:border-box;padding:.4rem;border:1px solid #8a99a3;border-radius:4px}" +
    ".cb-widget .cb-error{color:#b3261e;margin:.2rem 0 0}" +
    ".cb-widget .cb-policy{font-size:.875rem;color:#44545e}" +
    ".cb-widget .cb-hold{background:#fff7e0;border-left:4px solid #f4b400;padding:.4rem .6rem;border-radius:4px}" +
    ".cb-widget .cb-trap{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function api(path, body, key) {
    var options = { headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      if (key) options.headers["Idempotency-Key"] = key;
      options.body = JSON.stringify(body);
    }
    return fetch(origin + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json };
      });
    });
  }

  function timeLabel(slot) {
    var stamp = slot.local_start;
    var date = new Date(stamp.slice(0, 10) + "T12:00:00");
    var hours = parseInt(stamp.slice(11, 13), 10);
    var time = ((hours + 11) % 12 + 1) + ":" + stamp.slice(14, 16) + (hours >= 12 ? " PM" : " AM");
    return date.toLocaleDateString("en-US", { weekday: "short", month: "short", day: "numeric" }) + ", " + time;
  }

  function field(form, name, label, type, autocomplete) {
    var id = "cb-" + name + "-" + Math.random().toString(36).slice(2, 8);
    form.appendChild(el("label", { "for": id }, label));
    var input = el("input", { id: id, name: name, type: type, autocomplete: autocomplete });
    form.appendChild(input);
    var error = el("p", { "class": "cb-error", id: id + "-error" });
    input.setAttribute("aria-describedby", id + "-error");
    form.appendChild(error);
    return { input: input, error: error };
  }

  function mount(root) {
    var source = root.getAttribute("data-source") || "";
    var providerId = root.getAttribute("data-provider-id");
    var visitTypeId = root.getAttribute("data-visit-type-id");
    root.textContent = "";
    var box = el("section", { "class": "cb-widget", "aria-live": "polite" });
    root.appendChild(box);
    var intro = el("div");
    var offer = el("div");
    box.appendChild(intro);
    if (visitTypeId) {
      box.appendChild(offer);
      showOffer(box, intro, offer, source, providerId, visitTypeId);
      return;
    }
    // No type given: a small choice of the types this provider (or any) offers.
    api("/api/v1/visit-types").then(function (result) {
      var types = (result.status === 200 && result.body.items) || [];
      types = types.filter(function (t) {
        return !providerId || t.provider_ids.indexOf(Number(providerId)) !== -1;
      }).sort(function (a, b) { return Number(b.new_patients_online) - Number(a.new_patients_online); });
      if (types.length) {
        var id = "cb-visit-type-" + Math.random().toString(36).slice(2, 8);
        box.appendChild(el("label", { "for": id }, "Visit type"));
        var select = el("select", { id: id, name: "visit_type" });
        types.forEach(function (t) {
          select.appendChild(el("option", { value: String(t.id) }, t.name + " · " + t.duration_minutes + " min" +
            (t.new_patients_online ? "" : " (returning patients)")));
        });
        select.addEventListener("change", function () {
          showOffer(box, intro, offer, source, providerId, select.value);
        });
        box.appendChild(select);
      }
      box.appendChild(offer);
      showOffer(box, intro, offer, source, providerId, types.length ? String(types[0].id) : null);
    }, function () {
      box.appendChild(offer);
      showOffer(box, intro, offer, source, providerId, null);
    });
  }

  // The call to action's next times for one visit type (or plain slots, without one), and the
  // form that books the one chosen.
  function showOffer(box, intro, offer, source, providerId, visitTypeId) {
    var query = [];
    if (providerId) query.push("provider_id=" + encodeURIComponent(providerId));
    if (visitTypeId) query.push("visit_type_id=" + encodeURIComponent(visitTypeId));
    var path = "/api/v1/schedule-appointment" + (query.length ? "?" + query.join("&") : "");
    offer.textContent = "";
    // Only the answer to the latest choice is shown.
    var asked = offer.dataset.asked = String(Number(offer.dataset.asked || 0) + 1);
    // The clinic's booking rules, shown above the button before the patient books.
    var policy = api("/api/v1/booking-policy").catch(function () { return { status: 0 }; });
    api(path).then(function (result) {
      if (offer.dataset.asked !== asked) return;
      if (result.status !== 200) {
        offer.textContent = "Online booking is not available right now. Please call the clinic.";
        return;
      }
      var cta = result.body;
      if (!intro.firstChild) {
        intro.appendChild(el("h2", {}, cta.headline));
        intro.appendChild(el("p", {}, cta.text));
      }
      if (!cta.items.length) {
        offer.appendChild(el("p", {}, "No free times right now. Please call us at " + cta.clinic.phone + "."));
        return;
      }
      var times = el("div", { role: "group", "aria-label": "Next free times" });
      offer.appendChild(times);
      var form = el("form", { novalidate: "" });
      form.hidden = true;
      offer.appendChild(form);
      var chosen = null;
      // The chosen time is kept for the patient while they type (POST /api/v1/holds); choosing
      // another lets the previous one go in the same request (`replaces`).
      var hold = null;
      var holdAsked = 0;
      var holdNote = el("p", { "class": "cb-hold" });
      holdNote.hidden = true;
      var release = function (token) {
        fetch(origin + "/api/v1/holds/current", { method: "DELETE", keepalive: true, headers: { "Authorization": "Bearer " + token } })
          .catch(function () {});
      };
      var stopCountdown = function () {
        if (hold) window.clearInterval(hold.timer);
        holdNote.hidden = true;
      };
      window.addEventListener("pagehide", function () {
        holdAsked += 1;
        stopCountdown();
        if (hold) release(hold.token);
        hold = null;
      });
      var keep = function (slot) {
        if (hold && hold.slotId === slot.id && hold.endsAt > Date.now()) return;
        var mine = holdAsked += 1;
        var previous = hold;
        stopCountdown();
        hold = null;
        api("/api/v1/holds", {
          slot_id: slot.id,
          visit_type_id: visitTypeId ? Number(visitTypeId) : undefined,
          replaces: previous ? previous.token : undefined
        }).then(function (result) {
          if (mine !== holdAsked) {
            if (result.status === 201) release(result.body.token);
            return;
          }
          if (result.status !== 201) {
            // Refused, the previous hold was not let go: still the patient's to replace.
            hold = previous;
            if (result.status === 409) formError.textContent = result.body.detail || "";
            return;
          }
          var kept = { token: result.body.token, slotId: slot.id, endsAt: Date.now() + result.body.seconds_left * 1000 };
          hold = kept;
          var tick = function () {
            var left = Math.max(0, Math.round((kept.endsAt - Date.now()) / 1000));
            holdNote.textContent = left > 0
              ? "We're holding this time for you: " + Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2) + " left."
              : "We could not hold this time any longer; you can still book it if it is free.";
            if (left === 0) window.clearInterval(kept.timer);
          };
          tick();
          kept.timer = window.setInterval(tick, 1000);
          holdNote.hidden = false;
        }).catch(function () {});
      };
      cta.items.forEach(function (slot) {
        var button = el("button", { type: "button", "aria-pressed": "false", "data-slot-id": String(slot.id) },
          timeLabel(slot) + " · " + slot.provider.name);
        button.addEventListener("click", function () {
          Array.prototype.forEach.call(times.querySelectorAll("button"), function (b) { b.setAttribute("aria-pressed", "false"); });
          button.setAttribute("aria-pressed", "true");
          chosen = slot;
          form.hidden = false;
          formError.textContent = "";
          keep(slot);
          name.input.focus();
        });
        times.appendChild(button);
      });
      form.appendChild(holdNote);
      var name = field(form, "name", "Full name", "text", "name");
      var email = field(form, "email", "Email", "email", "email");
      var phone = field(form, "phone", "Phone (optional)", "tel", "tel");
      var trap = el("div", { "class": "cb-trap", "aria-hidden": "true" });
      var trapInput = el("input", { name: "company_website", tabindex: "-1", autocomplete: "off" });
      trap.appendChild(trapInput);
      form.appendChild(trap);
      var rules = el("p", { "class": "cb-policy" });
      rules.hidden = true;
      form.appendChild(rules);
      policy.then(function (answer) {
        if (answer.status !== 200) return;
        rules.textContent = [answer.body.summary, answer.body.text].filter(Boolean).join(" ");
        rules.hidden = false;
      });
      var formError = el("p", { "class": "cb-error", role: "alert" });
      form.appendChild(formError);
      var submit = el("button", { type: "submit", "class": "cb-primary" }, "Book this time");
      form.appendChild(submit);
      var key = null;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        [name, email, phone].forEach(function (f) { f.error.textContent = ""; f.input.removeAttribute("aria-invalid"); });
        formError.textContent = "";
        key = key || String(Date.now()) + "-" + Math.random().toString(36).slice(2);
        var body = {
          slot_id: chosen.id,
          visit_type_id: visitTypeId ? Number(visitTypeId) : undefined,
          patient: { name: name.input.value, email: email.input.value, phone: phone.input.value.trim() || undefined },
          source: source || undefined,
          company_website: trapInput.value || undefined,
          hold_token: hold ? hold.token : undefined
        };
        submit.disabled = true;
        api("/api/v1/bookings", body, key).then(function (result) {
          submit.disabled = false;
          if (result.status === 201) {
            // The hold became this booking.
            stopCountdown();
            hold = null;
            holdAsked += 1;
            var booking = result.body;
            box.textContent = "";
            box.appendChild(el("h2", {}, "You're booked"));
            box.appendChild(el("p", {}, (booking.visit_type ? booking.visit_type.name + " (" +
              booking.visit_type.duration_minutes + " min), " : "") + timeLabel(booking.slot) + " with " +
              booking.provider.name + "."));
            var ref = el("p", {}, "Your reference: ");
            ref.appendChild(el("strong", { "class": "cb-reference" }, result.body.reference));
            box.appendChild(ref);
            box.appendChild(el("p", {}, "A confirmation is on its way to your email."));
            return;
          }
          key = null;
          var errors = (result.body && result.body.errors) || {};
          var map = { "patient.name": name, "patient.email": email, "patient.phone": phone };
          var shown = false;
          Object.keys(errors).forEach(function (k) {
            if (map[k]) { map[k].error.textContent = errors[k]; map[k].input.setAttribute("aria-invalid", "true"); shown = true; }
          });
          if (!shown) formError.textContent = (result.body && result.body.detail) || "Something went wrong. Please try again.";
        }).catch(function () {
          submit.disabled = false;
          formError.textContent = "We could not reach the clinic. Please try again.";
        });
      });
    }).catch(function () {
      offer.textContent = "Online booking is not available right now. Please call the clinic.";
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
