-- A user who leaves is removed, not deleted: their tasks and owned contacts keep their history.
ALTER TABLE "users" ADD COLUMN "removed_at" TIMESTAMP(3),
ADD COLUMN "replaced_by_id" TEXT;
