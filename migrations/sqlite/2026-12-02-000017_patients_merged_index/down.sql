DROP INDEX patients_merged_by_email;
