-- Who acted, as far as SSH tells: the client address of the operator's SSH session
-- (SSH_CONNECTION) when the console or a command ran in one. And the months an
-- audit row touched are looked up by month (`audit --month`).
ALTER TABLE backfill_console_audit ADD COLUMN IF NOT EXISTS ssh_client TEXT;
CREATE INDEX IF NOT EXISTS backfill_console_audit_month ON backfill_console_audit (target_year, target_month)
  WHERE target_year IS NOT NULL;
