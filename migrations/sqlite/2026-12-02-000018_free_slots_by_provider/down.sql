DROP INDEX slots_free_by_provider;
