-- CreateTable
CREATE TABLE "AuditFact" (
    "seq" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "scope" TEXT,
    "userId" TEXT,
    "state" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AuditFact_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE INDEX "AuditFact_kind_key_seq_idx" ON "AuditFact"("kind", "key", "seq");

-- CreateIndex
CREATE INDEX "AuditFact_scope_kind_seq_idx" ON "AuditFact"("scope", "kind", "seq");

-- CreateIndex
CREATE INDEX "AuditFact_userId_kind_seq_idx" ON "AuditFact"("userId", "kind", "seq");

-- The access history (`accessAt`). Every change of an access fact row writes the row's access
-- columns as the change left them (null when it was deleted), in the same transaction: deferred
-- constraint triggers run at commit, so a change is stamped when it committed, cascades and
-- writes outside the API included, and a rolled-back change (previewAccessChange) leaves nothing.
CREATE FUNCTION "audit_fact_record"(p_kind TEXT, p_row JSONB, p_deleted BOOLEAN, p_at TIMESTAMP(3), p_keys TEXT, p_scope TEXT, p_user TEXT, p_columns TEXT)
RETURNS VOID LANGUAGE sql AS $$
  INSERT INTO "AuditFact" ("kind", "key", "scope", "userId", "state", "createdAt")
  SELECT p_kind,
    (SELECT string_agg(p_row->>k, ':' ORDER BY n) FROM unnest(string_to_array(p_keys, ',')) WITH ORDINALITY AS u(k, n)),
    p_row->>p_scope,
    CASE WHEN p_user = '' THEN NULL ELSE p_row->>p_user END,
    CASE WHEN p_deleted THEN NULL
      ELSE COALESCE((SELECT jsonb_object_agg(c, p_row->c) FROM unnest(string_to_array(p_columns, ',')) AS c), '{}'::jsonb) END,
    p_at
$$;

CREATE FUNCTION "audit_fact"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM "audit_fact_record"(TG_TABLE_NAME, to_jsonb(OLD), TRUE, date_trunc('milliseconds', clock_timestamp() AT TIME ZONE 'UTC'), TG_ARGV[0], TG_ARGV[1], TG_ARGV[2], TG_ARGV[3]);
  ELSE
    PERFORM "audit_fact_record"(TG_TABLE_NAME, to_jsonb(NEW), FALSE, date_trunc('milliseconds', clock_timestamp() AT TIME ZONE 'UTC'), TG_ARGV[0], TG_ARGV[1], TG_ARGV[2], TG_ARGV[3]);
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER "Account_audit_fact" AFTER INSERT OR DELETE ON "Account" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION "audit_fact"('id', 'id', '', 'workspaceCreators,externalSharing,memberInviters,memberDomains');
CREATE CONSTRAINT TRIGGER "Account_audit_fact_update" AFTER UPDATE OF "workspaceCreators", "externalSharing", "memberInviters", "memberDomains" ON "Account" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN ((OLD."workspaceCreators", OLD."externalSharing", OLD."memberInviters", OLD."memberDomains") IS DISTINCT FROM (NEW."workspaceCreators", NEW."externalSharing", NEW."memberInviters", NEW."memberDomains"))
  EXECUTE FUNCTION "audit_fact"('id', 'id', '', 'workspaceCreators,externalSharing,memberInviters,memberDomains');

CREATE CONSTRAINT TRIGGER "AccountActionCap_audit_fact" AFTER INSERT OR DELETE OR UPDATE ON "AccountActionCap" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION "audit_fact"('accountId,action,role', 'accountId', '', 'action,role,allowed');

CREATE CONSTRAINT TRIGGER "AccountMember_audit_fact" AFTER INSERT OR DELETE OR UPDATE ON "AccountMember" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION "audit_fact"('accountId,userId', 'accountId', 'userId', 'role');

CREATE CONSTRAINT TRIGGER "Workspace_audit_fact" AFTER INSERT OR DELETE ON "Workspace" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION "audit_fact"('id', 'accountId', '', 'accountId,type');
CREATE CONSTRAINT TRIGGER "Workspace_audit_fact_update" AFTER UPDATE OF "accountId", "type" ON "Workspace" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN ((OLD."accountId", OLD."type") IS DISTINCT FROM (NEW."accountId", NEW."type"))
  EXECUTE FUNCTION "audit_fact"('id', 'accountId', '', 'accountId,type');

CREATE CONSTRAINT TRIGGER "WorkspacePermission_audit_fact" AFTER INSERT OR DELETE OR UPDATE ON "WorkspacePermission" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION "audit_fact"('workspaceId,audience,action', 'workspaceId', '', 'audience,action,allowed');

CREATE CONSTRAINT TRIGGER "WorkspaceMember_audit_fact" AFTER INSERT OR DELETE OR UPDATE ON "WorkspaceMember" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION "audit_fact"('workspaceId,userId', 'workspaceId', 'userId', 'role,expiresAt');

-- Renames and item writes touch List rows too; only a change of an access column is recorded.
CREATE CONSTRAINT TRIGGER "List_audit_fact" AFTER INSERT OR DELETE ON "List" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION "audit_fact"('id', 'workspaceId', '', 'workspaceId,kind,generalAccess,generalRole,creatorId,linkExpiresAt');
CREATE CONSTRAINT TRIGGER "List_audit_fact_update" AFTER UPDATE OF "workspaceId", "kind", "generalAccess", "generalRole", "creatorId", "linkExpiresAt" ON "List" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN ((OLD."workspaceId", OLD."kind", OLD."generalAccess", OLD."generalRole", OLD."creatorId", OLD."linkExpiresAt") IS DISTINCT FROM (NEW."workspaceId", NEW."kind", NEW."generalAccess", NEW."generalRole", NEW."creatorId", NEW."linkExpiresAt"))
  EXECUTE FUNCTION "audit_fact"('id', 'workspaceId', '', 'workspaceId,kind,generalAccess,generalRole,creatorId,linkExpiresAt');

-- A share with an address keeps no address here: it reaches nobody until it names a user.
CREATE CONSTRAINT TRIGGER "Share_audit_fact" AFTER INSERT OR DELETE OR UPDATE ON "Share" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION "audit_fact"('id', 'listId', 'userId', 'listId,role,userId,groupId,rightId,expiresAt');

CREATE CONSTRAINT TRIGGER "GroupMember_audit_fact" AFTER INSERT OR DELETE ON "GroupMember" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION "audit_fact"('groupId,userId', 'groupId', 'userId', '');

CREATE CONSTRAINT TRIGGER "RightGrant_audit_fact" AFTER INSERT OR DELETE ON "RightGrant" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION "audit_fact"('rightId,userId', 'rightId', 'userId', '');

-- Where the history begins: every fact as it stands now (the triggers above hold writers back
-- until this commits, so none is missed), all stamped with the instant of the `History` row.
INSERT INTO "AuditFact" ("kind", "key", "state", "createdAt")
  VALUES ('History', 'begin', '{}'::jsonb, date_trunc('milliseconds', clock_timestamp() AT TIME ZONE 'UTC'));

WITH "at" AS (SELECT "createdAt" AS v FROM "AuditFact" WHERE "kind" = 'History')
SELECT count(*) FROM (
  SELECT "audit_fact_record"('Account', to_jsonb(t), FALSE, "at".v, 'id', 'id', '', 'workspaceCreators,externalSharing,memberInviters,memberDomains') FROM "Account" t, "at"
  UNION ALL SELECT "audit_fact_record"('AccountActionCap', to_jsonb(t), FALSE, "at".v, 'accountId,action,role', 'accountId', '', 'action,role,allowed') FROM "AccountActionCap" t, "at"
  UNION ALL SELECT "audit_fact_record"('AccountMember', to_jsonb(t), FALSE, "at".v, 'accountId,userId', 'accountId', 'userId', 'role') FROM "AccountMember" t, "at"
  UNION ALL SELECT "audit_fact_record"('Workspace', to_jsonb(t), FALSE, "at".v, 'id', 'accountId', '', 'accountId,type') FROM "Workspace" t, "at"
  UNION ALL SELECT "audit_fact_record"('WorkspacePermission', to_jsonb(t), FALSE, "at".v, 'workspaceId,audience,action', 'workspaceId', '', 'audience,action,allowed') FROM "WorkspacePermission" t, "at"
  UNION ALL SELECT "audit_fact_record"('WorkspaceMember', to_jsonb(t), FALSE, "at".v, 'workspaceId,userId', 'workspaceId', 'userId', 'role,expiresAt') FROM "WorkspaceMember" t, "at"
  UNION ALL SELECT "audit_fact_record"('List', to_jsonb(t), FALSE, "at".v, 'id', 'workspaceId', '', 'workspaceId,kind,generalAccess,generalRole,creatorId,linkExpiresAt') FROM "List" t, "at"
  UNION ALL SELECT "audit_fact_record"('Share', to_jsonb(t), FALSE, "at".v, 'id', 'listId', 'userId', 'listId,role,userId,groupId,rightId,expiresAt') FROM "Share" t, "at"
  UNION ALL SELECT "audit_fact_record"('GroupMember', to_jsonb(t), FALSE, "at".v, 'groupId,userId', 'groupId', 'userId', '') FROM "GroupMember" t, "at"
  UNION ALL SELECT "audit_fact_record"('RightGrant', to_jsonb(t), FALSE, "at".v, 'rightId,userId', 'rightId', 'userId', '') FROM "RightGrant" t, "at"
) AS "baseline";
