-- CreateTable
CREATE TABLE "ListEvent" (
    "listId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ListEvent_pkey" PRIMARY KEY ("listId","seq")
);

-- CreateTable
CREATE TABLE "ListSequence" (
    "listId" TEXT NOT NULL,
    "lastSeq" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "ListSequence_pkey" PRIMARY KEY ("listId")
);

-- CreateIndex
CREATE INDEX "ListEvent_createdAt_idx" ON "ListEvent"("createdAt");
