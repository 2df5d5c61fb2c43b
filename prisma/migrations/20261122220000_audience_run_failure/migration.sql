-- AlterTable
ALTER TABLE "audience_runs" ADD COLUMN     "failure" TEXT;
