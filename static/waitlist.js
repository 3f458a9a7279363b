// The waitlist page. Without parameters it is the form that puts a patient on the waitlist. The
// mails' links open it with a token: ?verify=… confirms the address (the entry counts from then
// on), ?entry=… shows the entry and lets the patient leave, ?offer=… shows a time held for them
// (with &answer=accept it books it at once: the mail's one-click link; &answer=decline gives it
// to the next patient). Plain JavaScript against the public API; tokens go in the
// Authorization header, never into another request's address.
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);
  var clinicPhone = "";

  function $(id) { return document.getElementById(id); }

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
    });
  }

  // "2026-11-26T08:00:00-07:00" is the location's wall-clock time: show it as written.
  function when(stamp) {
    var day = new Date(stamp.slice(0, 10) + "T12:00:00");
    var hours = parseInt(stamp.slice(11, 13), 10);
    var time = ((hours + 11) % 12 + 1) + ":" + stamp.slice(14, 16) + " " + (hours >= 12 ? "PM" : "AM");
    return day.toLocaleDateString("en-US", { weekday: "long", month: "long", day: "numeric" }) + " at " + time;
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

  function say(text) { $("status").textContent = text; }

  // A refusal in words the patient can act on, with the clinic's phone.
  function problem(result, fallback) {
    var text = (result.body && result.body.detail) || fallback;
    if (result.status === 401) {
      text = "This link is no longer valid. Your place on the list is not affected.";
    }
    if (clinicPhone) text += " Questions? Call us at " + clinicPhone + ".";
    $("problem").textContent = text;
    $("problem").focus();
  }

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
        $("offer-hold-text").textContent = "The time we held for you has run out; it may have gone to the next patient.";
        $("offer-accept").disabled = true;
        $("offer-decline").disabled = true;
      }
    }
    tick();
    offerTimer = setInterval(tick, 1000);
  }

  function showOffer(token, offer) {
    show("offer");
    $("title").textContent = "A time has opened up";
    details($("offer-details"), [
      ["When", when(offer.slot.local_start)],
      ["Visit", offer.visit_type.name + " (" + offer.visit_type.duration_minutes + " minutes)"],
      ["With", offer.provider.name],
      ["Where", offer.location.name + (offer.location.address ? ", " + offer.location.address : "")],
      ["Moves", offer.move_booking ? "your visit " + offer.move_booking + " to this earlier time (the old one is cancelled)" : ""]
    ]);
    var open = offer.status === "offered" && offer.seconds_left > 0;
    $("offer-accept").disabled = !open;
    $("offer-decline").disabled = !open;
    if (open) {
      $("offer-hold-text").textContent = "We are holding it for you for";
      countdown(offer.seconds_left);
    } else {
      $("offer-hold-text").textContent = {
        accepted: "You have booked this time already: the confirmation is in your email.",
        declined: "You let this time go to the next patient. You are still on the waitlist.",
        expired: "This time was held for you until " + offer.expires_at.slice(11, 16) + " UTC and has gone to the next patient. You are still on the waitlist: we will write when another time frees up."
      }[offer.status] || "";
      $("offer-timer").textContent = "";
    }
    $("offer-title").focus();
    return open;
  }

  function accept(token) {
    $("offer-accept").disabled = true;
    say("Booking…");
    return api("/api/v1/waitlist/offers/current/accept", { method: "POST", token: token }).then(function (result) {
      say("");
      if (result.status !== 201) {
        problem(result, "This time could not be booked.");
        return loadOffer(token, false);
      }
      clearInterval(offerTimer);
      var b = result.body;
      show("booked");
      $("title").textContent = "You're booked";
      details($("booked-details"), [
        ["When", when(b.slot.local_start)],
        ["With", b.provider.name],
        ["Where", b.location.name + (b.location.address ? ", " + b.location.address : "")],
        ["Reference", b.reference]
      ]);
      $("booked-manage").href = "/book?reference=" + encodeURIComponent(b.reference) + "&token=" + encodeURIComponent(b.manage_token);
      $("booked-title").focus();
    });
  }

  function decline(token) {
    $("offer-decline").disabled = true;
    return api("/api/v1/waitlist/offers/current/decline", { method: "POST", token: token }).then(function (result) {
      if (result.status !== 204) {
        problem(result, "This offer could not be declined.");
        return loadOffer(token, false);
      }
      clearInterval(offerTimer);
      $("offer-accept").disabled = true;
      $("offer-hold-text").textContent = "Thank you: the time goes to the next patient. You are still on the waitlist.";
      $("offer-timer").textContent = "";
      say("Declined. You are still on the waitlist.");
    });
  }

  function loadOffer(token, answer) {
    return api("/api/v1/waitlist/offers/current", { token: token }).then(function (result) {
      if (result.status !== 200) {
        show(null);
        $("title").textContent = "Waitlist";
        return problem(result, "This offer could not be found.");
      }
      var open = showOffer(token, result.body);
      if (open && answer === "accept") return accept(token);
      if (open && answer === "decline") return decline(token);
    });
  }

  // --- an entry ----------------------------------------------------------------------------

  function showEntry(token, entry) {
    show("entry");
    $("title").textContent = "Your place on the waitlist";
    var words = {
      unverified: "Waiting for you to confirm your email address (see the mail we sent).",
      waiting: "On the list: we email you the moment a matching time frees up.",
      booked: "Booked from the waitlist: see your confirmation mail.",
      removed: "Off the list."
    };
    details($("entry-details"), [
      ["Reference", entry.reference],
      ["Status", words[entry.status] || entry.status],
      ["Visit", entry.visit_type.name],
      ["From", entry.earliest_date],
      ["Until", entry.latest_date],
      ["Days", entry.days.length === 7 ? "any day" : entry.days.join(", ")],
      ["Times", entry.times.length === 3 ? "any time of day" : entry.times.join(", ")],
      ["Held for you", entry.offer ? when(entry.offer.start) + " (see the offer mail)" : ""]
    ]);
    var canLeave = entry.status === "waiting" || entry.status === "unverified";
    $("entry-leave").hidden = !canLeave;
    $("entry-leave").onclick = function () {
      if (!window.confirm("Leave the waitlist? You will not hear about times that free up.")) return;
      api("/api/v1/waitlist/current", { method: "DELETE", token: token }).then(function (result) {
        if (result.status !== 204) return problem(result, "Could not leave the waitlist.");
        say("You have left the waitlist.");
        entry.status = "removed";
        entry.offer = null;
        showEntry(token, entry);
      });
    };
    $("entry-title").focus();
  }

  function loadEntry(token) {
    return api("/api/v1/waitlist/current", { token: token }).then(function (result) {
      if (result.status !== 200) return problem(result, "This waitlist entry could not be found.");
      showEntry(token, result.body);
    });
  }

  function verify(token) {
    return api("/api/v1/waitlist/verify", { method: "POST", token: token }).then(function (result) {
      if (result.status !== 200) return problem(result, "This link could not confirm your place.");
      say("Thank you: your address is confirmed and your place on the waitlist counts.");
      showEntry(result.body.token, result.body);
    });
  }

  // --- joining -----------------------------------------------------------------------------

  function iso(date) { return date.toISOString().slice(0, 10); }

  function checked(name) {
    return Array.prototype.slice.call(document.querySelectorAll("input[name='" + name + "']:checked"))
      .map(function (input) { return input.value; });
  }

  function fieldErrors(errors) {
    var first = null;
    document.querySelectorAll("#join .error").forEach(function (p) { p.textContent = ""; });
    document.querySelectorAll("#join [aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    var inputs = { "earliest_date": "earliest", "latest_date": "latest", "patient.name": "name", "patient.email": "email", "patient.phone": "phone" };
    Object.keys(inputs).forEach(function (field) {
      if (!errors[field]) return;
      $(field + "-error").textContent = errors[field];
      var input = $(inputs[field]);
      input.setAttribute("aria-invalid", "true");
      if (!first) first = input;
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
      patient: { name: $("name").value, email: $("email").value, phone: $("phone").value || null },
      company_website: $("company_website").value
    };
    $("join-submit").disabled = true;
    api("/api/v1/waitlist", { method: "POST", body: body }).then(function (result) {
      $("join-submit").disabled = false;
      if (result.status === 422 && result.body.errors) {
        var first = fieldErrors(result.body.errors);
        $("problem").textContent = result.body.detail || "Please check the fields marked.";
        (first || $("problem")).focus();
        return;
      }
      if (result.status !== 201) return problem(result, "We could not add you to the waitlist.");
      fieldErrors({});
      $("problem").textContent = "";
      say("Almost done: we have emailed you a link. Open it to confirm your address, and your place counts from then on.");
      showEntry(result.body.token, result.body);
    });
  }

  function loadForm() {
    show("join");
    var today = new Date();
    $("earliest").value = iso(today);
    $("latest").value = iso(new Date(today.getTime() + 30 * 86400000));
    Promise.all([api("/api/v1/visit-types"), api("/api/v1/providers")]).then(function (results) {
      // Visits new patients may book first; those for returning patients say so.
      var types = (results[0].body.items || results[0].body || []).slice().sort(function (a, b) {
        return (b.new_patients_online ? 1 : 0) - (a.new_patients_online ? 1 : 0);
      });
      types.forEach(function (v) {
        var option = document.createElement("option");
        option.value = v.id;
        option.textContent = v.name + " (" + v.duration_minutes + " minutes" +
          (v.new_patients_online ? ")" : ", for returning patients)");
        $("visit-type").appendChild(option);
      });
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

  api("/api/v1/booking-policy").then(function (result) {
    if (result.status === 200) clinicPhone = result.body.clinic_phone || "";
  }).finally(function () {
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
