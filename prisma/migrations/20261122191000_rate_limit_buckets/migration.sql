-- CreateTable
CREATE TABLE "rate_limit_buckets" (
    "key" TEXT NOT NULL,
    "tokens" DOUBLE PRECISION NOT NULL,
    "at_ms" DOUBLE PRECISION NOT NULL,
    "granted" BOOLEAN NOT NULL DEFAULT true,

    CONSTRAINT "rate_limit_buckets_pkey" PRIMARY KEY ("key")
);


-- Buckets are not worth a disk flush per request; a crash only refills them.
ALTER TABLE "rate_limit_buckets" SET UNLOGGED;
