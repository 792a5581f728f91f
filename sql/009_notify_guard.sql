-- The change notifications never cost production a write. PostgreSQL's NOTIFY queue is
-- shared by the whole server and emptied only as every listener reads: one listener that
-- stops reading (a console suspended with Ctrl-Z, a frozen SSH session, a backend stuck
-- in a transaction) lets it fill, and once it is full every transaction that notifies
-- fails at COMMIT — here, every write to the work list and the queue. Past half full the
-- triggers stay quiet instead; the consoles then see changes at their next regular read.
CREATE OR REPLACE FUNCTION backfill_console_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF pg_notification_queue_usage() < 0.5 THEN
    PERFORM pg_notify('backfill_console', TG_TABLE_NAME);
  END IF;
  RETURN NULL;
END
$$;
