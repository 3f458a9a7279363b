// The booking walk-through a web developer writes against a client generated from the served
// /openapi.json, and nothing else: types from `openapi-typescript` (./schema.d.ts), requests through
// `openapi-fetch`. List providers, find a free time, book with an Idempotency-Key, retry with the
// same key, read the booking with its manage token, reschedule it, cancel it, and read the
// problem documents of a taken slot (409) and of an invalid email (422).
//
// tests/api/client.rs generates ./schema.d.ts from the running app, type-checks this file against
// it with `tsc --strict` (no `any`, no casts: a document that would generate a wrong client makes
// this fail to compile), compiles it and runs it with BASE_URL set. Every step checks what it got
// and throws otherwise; the last line printed is a JSON summary the Rust test checks again.

import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

// Types are taken from the operations, as a client developer reaches them.
type NewBooking = NonNullable<
  paths["/api/v1/bookings"]["post"]["requestBody"]
>["content"]["application/json"];
type Booking =
  paths["/api/v1/bookings/{reference}"]["get"]["responses"][200]["content"]["application/json"];
type TakenSlot =
  paths["/api/v1/bookings"]["post"]["responses"][409]["content"]["application/problem+json"];
type InvalidFields =
  paths["/api/v1/bookings"]["post"]["responses"][422]["content"]["application/problem+json"];

// The document says what a booking needs: a body without a slot or a patient, or a patient
// without a name or an email, must not compile (the server answers 422 to them).
// @ts-expect-error slot_id is required
const withoutSlot: NewBooking = { patient: { name: "Ana Díaz", email: "ana@example.com" } };
// @ts-expect-error patient is required
const withoutPatient: NewBooking = { slot_id: 1 };
// @ts-expect-error slot_id is not nullable
const nullSlot: NewBooking = { slot_id: null, patient: { name: "Ana", email: "ana@example.com" } };
// @ts-expect-error the patient's email is required
const withoutEmail: NewBooking = { slot_id: 1, patient: { name: "Ana Díaz" } };
void [withoutSlot, withoutPatient, nullSlot, withoutEmail];

// How a patient's page words a booking's status. The document lists the statuses: a status it
// does not list, or one it adds, fails to compile here.
function describe(status: Booking["status"]): string {
  switch (status) {
    case "booked":
      return "booked";
    case "arrived":
      return "checked in";
    case "completed":
      return "seen";
    case "no_show":
      return "missed";
    case "cancelled":
      return "cancelled";
    default: {
      const unlisted: never = status;
      return unlisted;
    }
  }
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) {
    throw new Error(`walk-through: ${what}`);
  }
}

const baseUrl = process.env["BASE_URL"];
check(baseUrl, "BASE_URL is not set");
const api = createClient<paths>({ baseUrl });

// 1. Who can I see?
const providers = await api.GET("/api/v1/providers");
check(providers.data, `list providers: ${providers.response.status}`);
const provider = providers.data.items[0];
check(provider, "no provider is listed");

// The booking rules, which a form shows before the patient books.
const policy = await api.GET("/api/v1/booking-policy");
check(policy.data, `booking policy: ${policy.response.status}`);
check(policy.data.summary.length > 0 && policy.data.text.length > 0, "the booking rules' words");
check(policy.data.cancel_cutoff_hours <= 24, "a cut-off before the visits moved below, two days ahead");

// 2. When? The free times with that provider, from two days ahead: the booking rules let a
// patient move or cancel a visit online until 24 hours before it (GET /api/v1/booking-policy),
// and this walk-through does both. A date is the clinic's local midnight.
const twoDaysAhead = new Date(Date.now() + 2 * 24 * 3600 * 1000).toISOString().slice(0, 10);
const slots = await api.GET("/api/v1/slots", {
  params: { query: { provider_id: provider.id, from: twoDaysAhead } },
});
check(slots.data, `list slots: ${slots.response.status}`);
const [first, second] = slots.data.items;
check(first && second, `two free slots with ${provider.name}`);
check(first.provider.id === provider.id, "a slot of another provider");

// 3. Book, with an Idempotency-Key: a retry after a lost answer must not book twice.
const booking: NewBooking = {
  slot_id: first.id,
  patient: { name: "Ana Díaz", email: "ana.diaz@example.com", phone: "+1 (602) 555-0134" },
  reason: "Lower back pain since March",
};
const key = randomUUID();
const booked = await api.POST("/api/v1/bookings", {
  params: { header: { "Idempotency-Key": key } },
  body: booking,
});
check(
  booked.response.status === 201 && booked.data,
  `book: ${booked.response.status} ${JSON.stringify(booked.error)}`,
);
const { reference, manage_token: token } = booked.data;
check(token, "the new booking carries its manage token");
check(booked.data.slot.id === first.id, "booked the slot asked for");

// 4. The same key and body again (the phone lost the answer): the same booking, not a second.
const replayed = await api.POST("/api/v1/bookings", {
  params: { header: { "Idempotency-Key": key } },
  body: booking,
});
check(
  replayed.response.status === 201 && replayed.data,
  `replay: ${replayed.response.status} ${JSON.stringify(replayed.error)}`,
);
check(replayed.data.reference === reference, "the replay answers the same booking");

// 5. Read it with the manage token.
const asPatient = { Authorization: `Bearer ${token}` };
const read = await api.GET("/api/v1/bookings/{reference}", {
  params: { path: { reference } },
  headers: asPatient,
});
check(read.data, `read: ${read.response.status} ${JSON.stringify(read.error)}`);
check(read.data.status === "booked", `read: status ${read.data.status}`);
check(read.data.patient.email === "ana.diaz@example.com", "read: the patient's email");

// 6. Move it to the second free time.
const moved = await api.POST("/api/v1/bookings/{reference}/reschedule", {
  params: { path: { reference } },
  headers: asPatient,
  body: { slot_id: second.id },
});
check(moved.data, `reschedule: ${moved.response.status} ${JSON.stringify(moved.error)}`);
check(moved.data.slot.id === second.id, "rescheduled to the slot asked for");

// 7. Someone else tries the time that is now taken: 409, a problem document.
const taken = await api.POST("/api/v1/bookings", {
  body: { slot_id: second.id, patient: { name: "Ben Ortiz", email: "ben.ortiz@example.com" } },
});
check(taken.response.status === 409 && taken.error, `taken slot: ${taken.response.status}`);
const conflict: TakenSlot = taken.error;
check(conflict.status === 409 && conflict.detail.length > 0, "taken slot: the problem's fields");

// 8. An email the clinic cannot write to: 422, the field named in `errors`.
const invalid = await api.POST("/api/v1/bookings", {
  body: { slot_id: first.id, patient: { name: "Ben Ortiz", email: "ben.ortiz at example" } },
});
check(invalid.response.status === 422 && invalid.error, `invalid email: ${invalid.response.status}`);
const problem: InvalidFields = invalid.error;
const emailError = problem.errors?.["patient.email"];
check(emailError, `invalid email: no message for patient.email in ${JSON.stringify(problem)}`);

// 9. Cancel it.
const cancelled = await api.POST("/api/v1/bookings/{reference}/cancel", {
  params: { path: { reference } },
  headers: asPatient,
});
check(cancelled.data, `cancel: ${cancelled.response.status} ${JSON.stringify(cancelled.error)}`);
check(cancelled.data.status === "cancelled", `cancel: status ${cancelled.data.status}`);

console.log(
  JSON.stringify({
    reference,
    first_slot: first.id,
    second_slot: second.id,
    status: describe(cancelled.data.status),
    conflict: { type: conflict.type, title: conflict.title, status: conflict.status },
    email_error: emailError,
  }),
);
