-- Least-privilege roles for backfill-console. NOT applied by `migrate`: a DBA
-- reviews and runs it once (psql -f sql/roles.sql), after `migrate`, then grants
-- a role to each login:   GRANT backfill_watcher TO alice;   GRANT backfill_operator TO bob;
--
-- backfill_watcher: everything the console and `watch`, `snapshot`, `locks` and
--   `check` read; no write anywhere. pg_monitor lets it see other sessions'
--   details in pg_stat_activity (without it, holders show as "insufficient privilege").
-- backfill_operator: the watcher, plus what the actions need —
--   claim:       UPDATE backfill_log, INSERT backfill_queue, INSERT backfill_console_audit
--   reset-stuck: UPDATE backfill_log, INSERT backfill_console_audit
--   release:     pg_signal_backend (it cannot signal a superuser's backend), INSERT backfill_console_audit
--   retry:       UPDATE backfill_log, INSERT backfill_console_audit
--   dead redrive/purge: DELETE backfill_queue_dead, INSERT backfill_queue (redrive), UPDATE backfill_log
--                (a redrive claims a pending month for its message), INSERT backfill_console_audit
-- The audit table takes INSERT only into the columns a client may fill: who (the login),
--   when, the backend and the application name are set by the database itself (migration
--   007's trigger), and no role here may UPDATE or DELETE an audit row.
-- An action the role may not take is refused by the server and the console says
-- which privilege is missing; the refusal is audited where the role may write
-- the audit table, and logged otherwise.

DO $roles$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'backfill_watcher') THEN
    CREATE ROLE backfill_watcher NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'backfill_operator') THEN
    CREATE ROLE backfill_operator NOLOGIN;
  END IF;
END
$roles$;

GRANT pg_monitor TO backfill_watcher;
GRANT USAGE ON SCHEMA public TO backfill_watcher;
GRANT SELECT ON backfill_log, backfill_queue, backfill_queue_dead, backfill_console_audit,
  backfill_console_migrations TO backfill_watcher;
GRANT SELECT ON SEQUENCE backfill_queue_msg_id_seq TO backfill_watcher;

GRANT backfill_watcher TO backfill_operator;
GRANT pg_signal_backend TO backfill_operator;
GRANT UPDATE ON backfill_log TO backfill_operator;
GRANT INSERT ON backfill_queue TO backfill_operator;
GRANT DELETE ON backfill_queue_dead TO backfill_operator;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON backfill_console_audit FROM backfill_operator;
GRANT INSERT (os_user, os_host, action, target_year, target_month, target_pid, parameters, outcome, detail,
  ssh_client, claims) ON backfill_console_audit TO backfill_operator;
GRANT USAGE ON SEQUENCE backfill_queue_msg_id_seq, backfill_console_audit_id_seq TO backfill_operator;
-- The claim through a transaction pooler (migration 010; without these a pooled claim runs
-- its plain statements instead).
GRANT EXECUTE ON FUNCTION backfill_claim_walk(text[], bigint, integer, integer, integer, integer, bigint, integer[]),
  backfill_claim_update(integer[], text[], integer[], jsonb[], integer[]) TO backfill_operator;
