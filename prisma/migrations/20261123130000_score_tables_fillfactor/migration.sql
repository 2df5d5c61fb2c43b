-- Scores and cap buckets are updated in place by every scoring pass. Half of each page is left
-- free so the new version of a row fits beside the old one (a HOT update: no new index entry).
ALTER TABLE "contact_scores" SET (fillfactor = 50);
ALTER TABLE "score_caps" SET (fillfactor = 50);
