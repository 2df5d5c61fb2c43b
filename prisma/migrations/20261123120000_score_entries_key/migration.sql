-- Score entries keep one index, their key: the reads are by contact and model version, and
-- an entry is unique by (event, version, rule) because an event has one contact.
-- DropIndex
DROP INDEX "score_entries_contact_id_version_id_at_idx";

-- DropIndex
DROP INDEX "score_entries_event_id_version_id_rule_id_key";

-- AlterTable
ALTER TABLE "score_entries" DROP CONSTRAINT "score_entries_pkey",
DROP COLUMN "id",
ADD CONSTRAINT "score_entries_pkey" PRIMARY KEY ("contact_id", "version_id", "event_id", "rule_id");

