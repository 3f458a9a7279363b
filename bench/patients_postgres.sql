-- 100,000 patients for the patient search row (issue 19): 20 first names x 50 family names
-- (each full name 100 times, as common names are), an address and a phone number of their own,
-- and the words search finds them by, as the server writes them (lower case, no accents).
BEGIN;
CREATE TEMP TABLE people AS
WITH f(i, name) AS (VALUES (0, 'Ana'), (1, 'Maria'), (2, 'Jose'), (3, 'Luis'), (4, 'Carmen'), (5, 'Juan'), (6, 'Rosa'), (7, 'Carlos'), (8, 'Elena'), (9, 'Miguel'), (10, 'Sofia'), (11, 'David'), (12, 'Laura'), (13, 'Daniel'), (14, 'Lucia'), (15, 'Pedro'), (16, 'Paula'), (17, 'Jorge'), (18, 'Sara'), (19, 'Diego')),
     l(i, name) AS (VALUES (0, 'Garcia'), (1, 'Rodriguez'), (2, 'Martinez'), (3, 'Hernandez'), (4, 'Lopez'), (5, 'Gonzalez'), (6, 'Perez'), (7, 'Sanchez'), (8, 'Ramirez'), (9, 'Torres'), (10, 'Flores'), (11, 'Rivera'), (12, 'Gomez'), (13, 'Diaz'), (14, 'Reyes'), (15, 'Morales'), (16, 'Cruz'), (17, 'Ortiz'), (18, 'Gutierrez'), (19, 'Chavez'), (20, 'Ramos'), (21, 'Ruiz'), (22, 'Alvarez'), (23, 'Mendoza'), (24, 'Castillo'), (25, 'Jimenez'), (26, 'Moreno'), (27, 'Romero'), (28, 'Herrera'), (29, 'Medina'), (30, 'Aguilar'), (31, 'Vargas'), (32, 'Castro'), (33, 'Guzman'), (34, 'Fernandez'), (35, 'Juarez'), (36, 'Mendez'), (37, 'Salazar'), (38, 'Soto'), (39, 'Delgado'), (40, 'Smith'), (41, 'Johnson'), (42, 'Williams'), (43, 'Brown'), (44, 'Jones'), (45, 'Miller'), (46, 'Davis'), (47, 'Wilson'), (48, 'Anderson'), (49, 'Taylor'))
SELECT k.n AS n, f.name AS first, l.name AS last,
       lower(f.name) || '.' || lower(l.name) || k.n || '@example.com' AS email,
       '+1602' || lpad(k.n::text, 7, '0') AS phone
FROM generate_series(1, 100000) k(n) JOIN f ON f.i = k.n % 20 JOIN l ON l.i = (k.n / 20) % 50;
INSERT INTO patients (name, email, email_key, phone, created_at, updated_at)
SELECT first || ' ' || last, email, email, phone, now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc' FROM people ORDER BY n;
CREATE TEMP TABLE ids AS
SELECT p.id AS id, people.* FROM people JOIN patients p ON p.email_key = people.email;
INSERT INTO patient_search_terms (term, patient_id)
SELECT lower(first), id FROM ids
UNION ALL SELECT lower(last), id FROM ids
UNION ALL SELECT email, id FROM ids
UNION ALL SELECT substr(phone, 2), id FROM ids
UNION ALL SELECT substr(phone, 3), id FROM ids
UNION ALL SELECT substr(phone, 6), id FROM ids
ON CONFLICT DO NOTHING;
COMMIT;
VACUUM ANALYZE patients;
VACUUM ANALYZE patient_search_terms;
