DROP INDEX slots_by_start;
