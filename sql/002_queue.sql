-- The queue lives in the same database so that enqueue is transactional (SPEC §3).
CREATE TABLE IF NOT EXISTS backfill_queue (
  msg_id BIGSERIAL PRIMARY KEY,
  enqueued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  visible_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  read_count INT NOT NULL DEFAULT 0,
  message JSONB NOT NULL
);
-- Consumers read the oldest visible messages; depth counts scan by visibility.
CREATE INDEX IF NOT EXISTS backfill_queue_visible_at ON backfill_queue (visible_at);

CREATE TABLE IF NOT EXISTS backfill_queue_dead (
  msg_id BIGINT PRIMARY KEY,
  enqueued_at TIMESTAMPTZ NOT NULL,
  visible_at TIMESTAMPTZ NOT NULL,
  read_count INT NOT NULL,
  message JSONB NOT NULL,
  dead_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  reason TEXT
);
