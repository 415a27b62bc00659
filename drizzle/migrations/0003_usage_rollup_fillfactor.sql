-- Rollup rows are updated in place all hour long; free space on each page lets Postgres make
-- those updates HOT (no index writes), which is most of the cost of a batch.
ALTER TABLE "usage_rollups_hourly" SET (fillfactor = 70);
