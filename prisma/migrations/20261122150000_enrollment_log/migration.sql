-- CreateTable
CREATE TABLE "enrollment_log" (
    "enrollment_id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "kind" TEXT NOT NULL,
    "step_id" TEXT,
    "detail" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "enrollment_log_pkey" PRIMARY KEY ("enrollment_id","seq")
);

-- AddForeignKey
ALTER TABLE "enrollment_log" ADD CONSTRAINT "enrollment_log_enrollment_id_fkey" FOREIGN KEY ("enrollment_id") REFERENCES "enrollments"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

