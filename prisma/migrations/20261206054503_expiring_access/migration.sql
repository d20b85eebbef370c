-- AlterTable
ALTER TABLE "Invitation" ADD COLUMN     "membershipExpiresAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "List" ADD COLUMN     "linkExpiresAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Share" ADD COLUMN     "expiresAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "WorkspaceMember" ADD COLUMN     "expiresAt" TIMESTAMP(3);
