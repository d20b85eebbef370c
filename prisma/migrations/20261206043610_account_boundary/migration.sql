-- CreateEnum
CREATE TYPE "MemberInviters" AS ENUM ('ADMINS_ONLY', 'ALL_MEMBERS');

-- AlterEnum
ALTER TYPE "WorkspaceType" ADD VALUE 'PRIVATE';

-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "memberDomains" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "memberInviters" "MemberInviters" NOT NULL DEFAULT 'ADMINS_ONLY';
