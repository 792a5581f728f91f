-- The audit trail cannot be forged by the roles that write it: whatever an INSERT
-- says, the database itself sets who (the login: session_user), when (now()), from
-- which backend and under which application name. What only the client can know
-- (the OS user, the host) is recorded as the client says it; what the client's
-- environment claims (SUDO_USER, SSH_CONNECTION, $USER) goes to `claims`, shown as such.
ALTER TABLE backfill_console_audit ADD COLUMN IF NOT EXISTS claims JSONB;

CREATE OR REPLACE FUNCTION backfill_console_audit_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.at := now();
  NEW.db_user := session_user;
  NEW.backend_pid := pg_backend_pid();
  NEW.application_name := current_setting('application_name');
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS backfill_console_audit_stamp ON backfill_console_audit;
CREATE TRIGGER backfill_console_audit_stamp BEFORE INSERT ON backfill_console_audit
  FOR EACH ROW EXECUTE FUNCTION backfill_console_audit_stamp();
