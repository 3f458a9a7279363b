// Verifies webhook deliveries the way a receiver would, with the Standard Webhooks reference
// library for JavaScript (npm `standardwebhooks`), not the project's own code. Reads the
// deliveries a test's receiver recorded (DELIVERIES: a JSON file of [{headers, body}]) and
// checks each against every secret in SECRETS (comma-separated `whsec_…`). Prints, as JSON on
// its last line, for each delivery and secret whether it verified, and the payload verified.
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const deliveries = JSON.parse(readFileSync(process.env.DELIVERIES, "utf8"));
const secrets = process.env.SECRETS.split(",");
const results = deliveries.map((delivery) => {
  const verified = secrets.map((secret) => {
    try {
      return { ok: true, payload: new Webhook(secret).verify(delivery.body, delivery.headers) };
    } catch (error) {
      return { ok: false, error: String(error.message || error) };
    }
  });
  return { id: delivery.headers["webhook-id"], verified };
});
// A tampered body must fail: the library is really checking.
const first = deliveries[0];
let tamperedRejected = null;
if (first) {
  try {
    new Webhook(secrets[0]).verify(first.body.replace("}", ' ,"x":1}'), first.headers);
    tamperedRejected = false;
  } catch {
    tamperedRejected = true;
  }
}
console.log(JSON.stringify({ results, tampered_rejected: tamperedRejected }));
