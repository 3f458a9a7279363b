-- Booking a new patient looks for a merged record under the address (db::patients::
-- current_of_merged): the only index on the address covers current records, so the lookup read
-- every patient (20 ms each with 250,000 patients, found by the clinic-network benchmark).
CREATE INDEX patients_merged_by_email ON patients (email_key) WHERE merged_into IS NOT NULL;
