-- CreateIndex
CREATE INDEX "ItemUpdate_itemId_id_idx" ON "ItemUpdate"("itemId", "id");
