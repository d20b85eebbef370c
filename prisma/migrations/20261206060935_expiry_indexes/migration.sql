-- CreateIndex
CREATE INDEX "List_linkExpiresAt_idx" ON "List"("linkExpiresAt");

-- CreateIndex
CREATE INDEX "Share_expiresAt_idx" ON "Share"("expiresAt");

-- CreateIndex
CREATE INDEX "WorkspaceMember_expiresAt_idx" ON "WorkspaceMember"("expiresAt");
