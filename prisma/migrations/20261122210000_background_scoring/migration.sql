-- AlterTable
ALTER TABLE "events" ADD COLUMN     "score_xid" xid8;

-- CreateTable
CREATE TABLE "score_cursor" (
    "id" TEXT NOT NULL,
    "xid" xid8 NOT NULL,
    "event_id" TEXT NOT NULL DEFAULT '',

    CONSTRAINT "score_cursor_pkey" PRIMARY KEY ("id")
);

-- The scorer reads pending events in (transaction id, id) order.
CREATE INDEX "events_score_xid_id_idx" ON "events"("score_xid", "id");

-- Events stored before this migration were scored when they were stored.
INSERT INTO "score_cursor" ("id", "xid", "event_id") VALUES ('events', '0'::xid8, '');
