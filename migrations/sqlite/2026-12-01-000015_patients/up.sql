-- Patients as records: each booking names the patient it was made for (matched on booking by
-- email, and date of birth when given), staff notes about a patient or one of their visits, and
-- the moment a booking was cancelled (late cancellations are counted from it).
CREATE TABLE patients (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    -- lower(email): how bookings are matched to a patient.
    email_key TEXT NOT NULL,
    phone TEXT,
    date_of_birth DATE,
    -- Another patient this one may be (same email, another or no date of birth), until staff
    -- merge them or say they are two people.
    duplicate_of INTEGER REFERENCES patients (id),
    -- Merged into that patient: its bookings and notes moved there; the row stays for the audit.
    merged_into INTEGER REFERENCES patients (id),
    -- Personal data replaced by a tombstone (an erasure request or the retention period).
    erased_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- One current record per address and date of birth: two bookings racing for a new patient meet here.
CREATE UNIQUE INDEX patients_one_per_identity ON patients (email_key, COALESCE(date_of_birth, '0001-01-01'))
    WHERE merged_into IS NULL AND erased_at IS NULL;
CREATE INDEX patients_flagged ON patients (duplicate_of) WHERE duplicate_of IS NOT NULL;

-- What staff search by, folded (lower case, no accents): each word of the name, the email, the
-- phone's digits. Byte order (BINARY), so a prefix is a range of the index.
CREATE TABLE patient_search_terms (
    term TEXT NOT NULL,
    patient_id INTEGER NOT NULL REFERENCES patients (id),
    PRIMARY KEY (term, patient_id)
);
CREATE INDEX patient_search_terms_by_patient ON patient_search_terms (patient_id);

-- No REFERENCES here: SQLite cannot drop a column that has one (down.sql).
ALTER TABLE bookings ADD COLUMN patient_id INTEGER;
ALTER TABLE bookings ADD COLUMN cancelled_at TIMESTAMP;
-- Partial: bookings with no patient (none once the records below exist, but a bulk load can make
-- them) never match, and SQLite's statistics would otherwise count them against the index.
CREATE INDEX bookings_by_patient ON bookings (patient_id) WHERE patient_id IS NOT NULL;

CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    patient_id INTEGER NOT NULL REFERENCES patients (id),
    -- A note about one visit; none for one about the patient.
    booking_id INTEGER REFERENCES bookings (id),
    body TEXT NOT NULL,
    author_user_id INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX notes_by_patient ON notes (patient_id);
CREATE INDEX notes_by_booking ON notes (booking_id);

-- The bookings made so far become patients: one per address and date of birth, named as in
-- their latest booking; one whose address another patient has is flagged for staff.
INSERT INTO patients (name, email, email_key, phone, date_of_birth, created_at, updated_at)
SELECT b.patient_name, b.patient_email, lower(b.patient_email), b.patient_phone,
       b.patient_date_of_birth, b.created_at, b.created_at
FROM bookings b
WHERE b.id IN (SELECT max(id) FROM bookings GROUP BY lower(patient_email), patient_date_of_birth)
ORDER BY b.id;
UPDATE bookings SET patient_id = (
    SELECT p.id FROM patients p
    WHERE p.email_key = lower(bookings.patient_email)
      AND p.date_of_birth IS bookings.patient_date_of_birth
);
UPDATE patients SET duplicate_of = (
    SELECT min(q.id) FROM patients q WHERE q.email_key = patients.email_key AND q.id < patients.id
);
UPDATE bookings SET cancelled_at = updated_at WHERE status = 'cancelled';

-- The audit log names patients (matched, merged, erased) and notes (written, changed, deleted);
-- SQLite rebuilds a table to change its checks.
CREATE TABLE audit_log_wider (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN
        ('staff', 'manage_token', 'public', 'command_line', 'system')),
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL CHECK (entity_type IN ('booking', 'slot', 'provider', 'user',
        'visit_type', 'location', 'time_off', 'series', 'waitlist_entry', 'webhook_endpoint',
        'patient', 'note')),
    entity_id TEXT NOT NULL,
    booking_reference TEXT,
    from_state TEXT,
    to_state TEXT
);
INSERT INTO audit_log_wider SELECT * FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_wider RENAME TO audit_log;
CREATE INDEX audit_log_by_at ON audit_log (at, id);
CREATE INDEX audit_log_by_reference ON audit_log (booking_reference, at);
CREATE INDEX audit_log_by_user ON audit_log (actor_user_id, at);
