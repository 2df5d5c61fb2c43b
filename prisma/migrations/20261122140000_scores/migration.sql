-- CreateTable
CREATE TABLE "scoring_models" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "active_version_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "scoring_models_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "scoring_model_versions" (
    "id" TEXT NOT NULL,
    "model_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "hash" TEXT NOT NULL,
    "definition" JSONB NOT NULL,
    "plan" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "applied_at" TIMESTAMP(3),
    "rescore_status" TEXT NOT NULL DEFAULT 'none',
    "rescore_total" INTEGER NOT NULL DEFAULT 0,
    "rescore_done" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "scoring_model_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "contact_scores" (
    "contact_id" TEXT NOT NULL,
    "version_id" TEXT NOT NULL,
    "points" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "decayed_sum" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "anchor_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "stage" TEXT,
    "stage_at" TIMESTAMP(3),
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "contact_scores_pkey" PRIMARY KEY ("contact_id","version_id")
);

-- CreateTable
CREATE TABLE "score_entries" (
    "id" TEXT NOT NULL,
    "contact_id" TEXT NOT NULL,
    "version_id" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "rule_id" TEXT NOT NULL,
    "requested" DOUBLE PRECISION NOT NULL,
    "points" DOUBLE PRECISION NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "score_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "score_caps" (
    "contact_id" TEXT NOT NULL,
    "version_id" TEXT NOT NULL,
    "rule_id" TEXT NOT NULL,
    "bucket" BIGINT NOT NULL,
    "raw" DOUBLE PRECISION NOT NULL DEFAULT 0,

    CONSTRAINT "score_caps_pkey" PRIMARY KEY ("contact_id","version_id","rule_id","bucket")
);

-- CreateIndex
CREATE UNIQUE INDEX "scoring_models_workspace_id_key_key" ON "scoring_models"("workspace_id", "key");

-- CreateIndex
CREATE UNIQUE INDEX "scoring_model_versions_model_id_version_key" ON "scoring_model_versions"("model_id", "version");

-- CreateIndex
CREATE INDEX "score_entries_contact_id_version_id_at_idx" ON "score_entries"("contact_id", "version_id", "at");

-- CreateIndex
CREATE UNIQUE INDEX "score_entries_event_id_version_id_rule_id_key" ON "score_entries"("event_id", "version_id", "rule_id");

-- AddForeignKey
ALTER TABLE "scoring_model_versions" ADD CONSTRAINT "scoring_model_versions_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "scoring_models"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

