-- Condition triggers fire when a contact starts to match: one row per journey version and
-- contact while the contact matches its condition trigger, written by the event that found the
-- contact matching and removed by the first that finds it no longer does (engine/condition-matches.ts).
CREATE TABLE "condition_matches" (
    "contact_id" TEXT NOT NULL,
    "journey_version_id" TEXT NOT NULL,
    "event_id" TEXT,
    "matched_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "condition_matches_pkey" PRIMARY KEY ("contact_id","journey_version_id")
);
