// Reads the running server's /fhir endpoint as an EHR or an aggregator would, with other
// people's FHIR code: fhir-kit-client searches every resource type, follows a Slot search's
// `next` links page by page and resolves every reference it meets; FHIR.js (the npm `fhir`
// package, R4 4.0.1) validates every resource answered, the CapabilityStatement and an
// OperationOutcome included. Prints what it found as JSON on its last line.
//
// Then books as an EHR and as a patient's app would: a patient's app creates an Appointment for
// a free Slot with the patient contained (conditionally, If-None-Exist), reads it with the
// manage token the answer carries and cancels it by updating its status; the EHR, with a staff
// token, searches Appointments and Patients, resolves every reference of the booking and books
// by start and practitioner for a known Patient.
//
// Env: BASE_URL (the app, without /fhir); STAFF_TOKEN (a front-desk token).
import { createRequire } from "node:module";
import { Client } from "fhir-kit-client";

const require = createRequire(import.meta.url);
const { Fhir } = require("fhir");
const fhir = new Fhir();

const base = `${process.env.BASE_URL}/fhir`;
const client = new Client({ baseUrl: base });
const invalid = [];
const validated = new Map();

const check = (where, resource) => {
  const result = fhir.validate(resource);
  const errors = result.messages.filter((m) => m.severity === "error");
  if (errors.length > 0) invalid.push({ where, resourceType: resource.resourceType, id: resource.id, errors });
  validated.set(resource.resourceType, (validated.get(resource.resourceType) || 0) + 1);
};

const checkBundle = (where, bundle) => {
  check(where, bundle);
  for (const entry of bundle.entry || []) check(`${where}: ${entry.fullUrl}`, entry.resource);
  return (bundle.entry || []).map((e) => e.resource);
};

// Every reference in `resource` (any depth), as `Type/id`.
const references = (value, found = []) => {
  if (Array.isArray(value)) value.forEach((v) => references(v, found));
  else if (value && typeof value === "object") {
    if (typeof value.reference === "string") found.push(value.reference);
    Object.values(value).forEach((v) => references(v, found));
  }
  return found;
};

try {
  const capability = await client.capabilityStatement();
  check("metadata", capability);
  const supported = capability.rest[0].resource.map((r) => r.type);

  const all = {};
  for (const resourceType of ["Practitioner", "Location", "HealthcareService", "Schedule"]) {
    all[resourceType] = checkBundle(resourceType, await client.search({ resourceType, searchParams: {} }));
  }

  // A week of one provider's free time, five at a time, through every `next` link.
  const from = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
  const to = new Date(Date.now() + 8 * 86400000).toISOString().slice(0, 10);
  let page = await client.search({
    resourceType: "Slot",
    searchParams: { "schedule.actor": "Practitioner/1", start: [`ge${from}`, `lt${to}`], _count: 5 },
  });
  const slots = [];
  let pages = 0;
  while (page && pages < 6) {
    pages += 1;
    slots.push(...checkBundle(`Slot page ${pages}`, page));
    page = await client.nextPage({ bundle: page });
  }
  // A visit type's starts.
  const typed = checkBundle("Slot by service-type", await client.search({
    resourceType: "Slot",
    searchParams: { "service-type": "1", _count: 3 },
  }));

  // Every reference resolves, and what it names validates too.
  const unresolved = [];
  const seen = new Set();
  const everything = [...Object.values(all).flat(), ...slots, ...typed];
  for (const resource of everything) {
    for (const reference of references(resource)) {
      if (seen.has(reference)) continue;
      seen.add(reference);
      const [resourceType, id] = reference.split("/");
      try {
        check(`read ${reference}`, await client.read({ resourceType, id }));
      } catch (error) {
        unresolved.push({ reference, status: error.response && error.response.status });
      }
    }
  }
  // Reads by id answer the same resource as the searches.
  const firstSlot = await client.read({ resourceType: "Slot", id: slots[0].id });
  check("read Slot", firstSlot);

  // An error is an OperationOutcome, with its status.
  let notFound = null;
  try {
    await client.read({ resourceType: "Slot", id: "999999999" });
  } catch (error) {
    notFound = { status: error.response && error.response.status, body: error.response && error.response.data };
    if (notFound.body) check("404", notFound.body);
  }
  let badSearch = null;
  try {
    await client.search({ resourceType: "Slot", searchParams: { _count: 0 } });
  } catch (error) {
    badSearch = { status: error.response && error.response.status, body: error.response && error.response.data };
    if (badSearch.body) check("400", badSearch.body);
  }

  // SMART Scheduling Links, as an aggregator reads them: the manifest, then every file, every
  // line validated; every Slot's schedule and every Schedule's location resolved within the
  // files; conditional requests answered 304.
  const manifestResponse = await fetch(`${base}/$bulk-publish`, { headers: { accept: "application/json" } });
  const manifest = await manifestResponse.json();
  const etag = manifestResponse.headers.get("etag");
  const cacheControl = manifestResponse.headers.get("cache-control");
  const again = await fetch(`${base}/$bulk-publish`, { headers: { "if-none-match": etag } });
  const files = {};
  const fileStatus = {};
  for (const output of manifest.output) {
    const response = await fetch(output.url, { headers: { accept: "application/fhir+ndjson" } });
    fileStatus[output.type] = {
      status: response.status,
      contentType: response.headers.get("content-type"),
      etag: response.headers.get("etag"),
    };
    const text = await response.text();
    files[output.type] = text.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line));
    files[output.type].forEach((resource) => check(`${output.type} file`, resource));
    const unchanged = await fetch(output.url, { headers: { "if-none-match": response.headers.get("etag") } });
    fileStatus[output.type].again = unchanged.status;
  }
  const scheduleIds = new Set((files.Schedule || []).map((s) => `Schedule/${s.id}`));
  const locationIds = new Set((files.Location || []).map((l) => `Location/${l.id}`));
  const slotsWithoutSchedule = (files.Slot || []).filter((s) => !scheduleIds.has(s.schedule.reference)).length;
  const schedulesWithoutLocation = (files.Schedule || []).filter(
    (s) => !s.actor.some((a) => a.reference.startsWith("Location/") && locationIds.has(a.reference)),
  ).length;
  const deepLinks = (files.Slot || []).map((s) => {
    const link = (s.extension || []).find((e) => e.url.endsWith("booking-deep-link"));
    return link && link.valueUrl;
  });
  const phones = (files.Slot || []).map((s) => {
    const phone = (s.extension || []).find((e) => e.url.endsWith("booking-phone"));
    return phone && phone.valueString;
  });

  // Booking, as a patient's app (no token) and an EHR (a staff token) do it.
  const ehr = new Client({ baseUrl: base, bearerToken: process.env.STAFF_TOKEN });
  const failure = async (where, request) => {
    try {
      await request;
      return { status: 200 };
    } catch (error) {
      const body = error.response && error.response.data;
      if (body) check(where, body);
      return { status: error.response && error.response.status, body };
    }
  };
  // Two days on: past the cut-off, so the patient may still cancel online.
  const later = new Date(Date.now() + 2 * 86400000).toISOString().slice(0, 10);
  const free = checkBundle("Slot to book", await client.search({
    resourceType: "Slot",
    searchParams: { "schedule.actor": "Practitioner/2", start: `ge${later}`, _count: 2 },
  }));
  const email = "fhir.client@example.com";
  const booked = await client.create({
    resourceType: "Appointment",
    body: {
      resourceType: "Appointment",
      status: "booked",
      slot: [{ reference: `Slot/${free[0].id}` }],
      reasonCode: [{ text: "Stress and lower-back pain" }],
      contained: [{
        resourceType: "Patient",
        id: "patient",
        name: [{ given: ["Rosa"], family: "Client" }],
        telecom: [{ system: "email", value: email }],
      }],
      participant: [{ actor: { reference: "#patient" }, status: "accepted" }],
    },
    options: { headers: { "If-None-Exist": "identifier=https://ehr.example/visits|fhir-check" } },
  });
  check("created Appointment", booked);
  const manageToken = (booked.extension || []).find((e) => e.url.endsWith("/manage-token")).valueString;
  const patientApp = new Client({ baseUrl: base, bearerToken: manageToken });
  const own = await patientApp.read({ resourceType: "Appointment", id: booked.id });
  check("Appointment read with its manage token", own);
  const found = checkBundle("Appointment search", await ehr.search({
    resourceType: "Appointment",
    searchParams: { practitioner: "Practitioner/2", date: `ge${from}`, status: "booked" },
  }));
  const patients = checkBundle("Patient search", await ehr.search({
    resourceType: "Patient",
    searchParams: { email },
  }));
  const bookingUnresolved = [];
  for (const reference of references(own)) {
    const [resourceType, id] = reference.split("/");
    try {
      check(`EHR read ${reference}`, await ehr.read({ resourceType, id }));
    } catch (error) {
      bookingUnresolved.push({ reference, status: error.response && error.response.status });
    }
  }
  const bookedSlot = await client.read({ resourceType: "Slot", id: free[0].id });
  const cancelled = await patientApp.update({
    resourceType: "Appointment",
    id: booked.id,
    body: { ...own, status: "cancelled" },
  });
  check("cancelled Appointment", cancelled);
  const freedSlot = await client.read({ resourceType: "Slot", id: free[0].id });
  const second = await ehr.create({
    resourceType: "Appointment",
    body: {
      resourceType: "Appointment",
      status: "booked",
      start: free[1].start,
      participant: [
        { actor: { reference: `Patient/${booked.id}` }, status: "accepted" },
        { actor: { reference: "Practitioner/2" }, status: "accepted" },
      ],
    },
  });
  check("EHR-created Appointment", second);
  const conflict = await failure("409", client.create({
    resourceType: "Appointment",
    body: { ...second, id: undefined, extension: undefined, contained: [{ resourceType: "Patient", id: "p", name: [{ text: "Late Comer" }], telecom: [{ system: "email", value: "late@example.com" }] }], participant: [{ actor: { reference: "#p" }, status: "accepted" }] },
  }));
  const unauthorized = await failure("401", client.read({ resourceType: "Appointment", id: booked.id }));
  const forbidden = await failure("403", patientApp.read({ resourceType: "Appointment", id: second.id }));
  const unprocessable = await failure("422", client.create({
    resourceType: "Appointment",
    body: { resourceType: "Appointment", status: "proposed", participant: [] },
  }));

  console.log(JSON.stringify({
    booking: {
      booked: { id: booked.id, status: booked.status, slot: booked.slot, start: booked.start, end: booked.end },
      own_read: own.id,
      found: found.map((a) => a.id),
      patients: patients.map((p) => p.id),
      unresolved: bookingUnresolved,
      booked_slot: bookedSlot.status,
      cancelled: cancelled.status,
      freed_slot: freedSlot.status,
      second: { id: second.id, status: second.status, start: second.start, patient: second.participant[0].actor.display },
      free_second_start: free[1].start,
      conflict: conflict.status,
      unauthorized: unauthorized.status,
      forbidden: forbidden.status,
      unprocessable: unprocessable.status,
    },
    bulk: {
      manifest,
      etag,
      cache_control: cacheControl,
      manifest_again: again.status,
      files: fileStatus,
      counts: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.length])),
      slots_without_schedule: slotsWithoutSchedule,
      schedules_without_location: schedulesWithoutLocation,
      slots_without_deep_link: deepLinks.filter((l) => !l).length,
      slots_without_phone: phones.filter((p) => !p).length,
      first_deep_link: deepLinks[0],
      first_slot: (files.Slot || [])[0],
      locations: files.Location,
    },
    supported,
    fhir_version: capability.fhirVersion,
    counts: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.length])),
    slot_pages: pages,
    slot_ids: slots.map((s) => s.id),
    slot_starts: slots.map((s) => s.start),
    slot_schedules: [...new Set(slots.map((s) => s.schedule.reference))],
    typed_slots: typed.map((s) => ({ id: s.id, start: s.start, end: s.end, serviceType: s.serviceType })),
    first_slot_read: firstSlot,
    references_resolved: seen.size,
    unresolved,
    not_found: notFound,
    bad_search: badSearch,
    validated: Object.fromEntries(validated),
    invalid,
  }));
} catch (error) {
  console.error(`fhir check failed: ${error.stack || error}`);
  if (error.response) console.error(JSON.stringify(error.response.data || error.response.status));
  process.exit(1);
}
