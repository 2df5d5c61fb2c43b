-- CreateIndex
CREATE INDEX "contacts_anonymous_ids_idx" ON "contacts" USING GIN ("anonymous_ids");

-- CreateIndex
CREATE INDEX "enrollments_contact_id_status_idx" ON "enrollments"("contact_id", "status");
