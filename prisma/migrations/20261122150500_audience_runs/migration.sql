-- CreateTable
CREATE TABLE "audience_runs" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "journey_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "scanned" INTEGER NOT NULL DEFAULT 0,
    "enrolled" INTEGER NOT NULL DEFAULT 0,
    "cursor" TEXT,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "audience_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audience_runs_journey_id_started_at_idx" ON "audience_runs"("journey_id", "started_at");

