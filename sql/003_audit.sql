-- Every action the console (or a headless command) takes: who, what, outcome.
-- Passwords never go here: parameters are built from typed fields only.
CREATE TABLE IF NOT EXISTS backfill_console_audit (
  id BIGSERIAL PRIMARY KEY,
  at TIMESTAMPTZ NOT NULL DEFAULT now(),
  os_user TEXT,
  os_host TEXT,
  db_user TEXT NOT NULL DEFAULT current_user,
  application_name TEXT DEFAULT current_setting('application_name'),
  backend_pid INT DEFAULT pg_backend_pid(),
  action TEXT NOT NULL,
  target_year INT,
  target_month INT,
  target_pid INT,
  parameters JSONB NOT NULL DEFAULT '{}',
  outcome TEXT NOT NULL,
  detail JSONB
);
CREATE INDEX IF NOT EXISTS backfill_console_audit_at ON backfill_console_audit (at DESC);
