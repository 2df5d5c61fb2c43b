-- A background CSV import is run by one process at a time: the one that holds its claim
-- (`owner`, a process's id) until `lease_until`. A live process renews its claim while it runs
-- the job; a process that starts, or looks again later, takes only jobs nobody holds or whose
-- claim ran out (engine/contacts/import-jobs.ts).
ALTER TABLE "import_jobs" ADD COLUMN "owner" TEXT;
ALTER TABLE "import_jobs" ADD COLUMN "lease_until" TIMESTAMP(3);
