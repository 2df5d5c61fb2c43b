-- Whether a held send will count toward the frequency cap when it goes: only those take a cap
-- slot, so only those are "ahead" of another send of the contact (activities/send-gate.ts).
-- Deferrals from before are taken to count, as they were.
ALTER TABLE "send_deferrals" ADD COLUMN "counts_to_cap" BOOLEAN NOT NULL DEFAULT true;
