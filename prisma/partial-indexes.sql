-- Indexes that prisma/schema.prisma cannot declare (Prisma 6 has no partial indexes), as the
-- migrations create them. tests/store/migrations.test.ts adds them to the database it builds
-- from the schema before comparing it with the one built from the migrations.
CREATE INDEX "events_unrouted_contact_id_idx" ON "events"("contact_id") WHERE "routed_at" IS NULL;
