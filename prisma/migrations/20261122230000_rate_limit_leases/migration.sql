-- AlterTable
ALTER TABLE "rate_limit_buckets" ADD COLUMN     "taken" DOUBLE PRECISION NOT NULL DEFAULT 0;

