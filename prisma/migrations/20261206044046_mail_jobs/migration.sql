-- AlterTable
ALTER TABLE "MailOutbox" ADD COLUMN     "claimedUntil" TIMESTAMP(3),
ADD COLUMN     "kind" TEXT NOT NULL DEFAULT 'mail',
ADD COLUMN     "link" TEXT,
ADD COLUMN     "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "MailOutbox_status_nextAttemptAt_idx" ON "MailOutbox"("status", "nextAttemptAt");
