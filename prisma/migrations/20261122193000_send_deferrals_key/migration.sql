-- CreateIndex
CREATE INDEX "send_deferrals_key_idx" ON "send_deferrals"("key");

