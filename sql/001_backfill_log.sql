-- backfill_log exactly as the production system has it (SPEC §2).
-- Created only when absent: an existing production table is adopted unchanged,
-- rows, names and indexes and all.
DO $migration$
BEGIN
  IF to_regclass('backfill_log') IS NULL THEN
    CREATE TABLE backfill_log (
      id SERIAL PRIMARY KEY,
      year INT NOT NULL CHECK (year BETWEEN 1900 AND 2100),
      month INT NOT NULL CHECK (month BETWEEN 1 AND 12),
      status VARCHAR(20) NOT NULL
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'retry')),
      books_generated INT DEFAULT 0 CHECK (books_generated >= 0),
      isbns_resolved INT DEFAULT 0 CHECK (isbns_resolved >= 0),
      isbns_queued INT DEFAULT 0 CHECK (isbns_queued >= 0),
      resolution_rate DECIMAL(5,2) CHECK (resolution_rate BETWEEN 0 AND 100),
      gemini_calls INT DEFAULT 0 CHECK (gemini_calls >= 0),
      xai_calls INT DEFAULT 0 CHECK (xai_calls >= 0),
      isbndb_calls INT DEFAULT 0 CHECK (isbndb_calls >= 0),
      started_at TIMESTAMPTZ,
      completed_at TIMESTAMPTZ,
      error_message TEXT,
      retry_count INT DEFAULT 0 CHECK (retry_count >= 0 AND retry_count <= 5),
      last_retry_at TIMESTAMPTZ,
      prompt_variant VARCHAR(50) DEFAULT 'baseline',
      batch_size INT DEFAULT 20 CHECK (batch_size BETWEEN 1 AND 100),
      UNIQUE (year, month),
      CHECK (isbns_resolved <= books_generated),
      CHECK (isbns_queued <= isbns_resolved),
      CHECK (completed_at IS NULL OR completed_at >= started_at)
    );
    CREATE INDEX idx_backfill_log_status ON backfill_log (status);
    CREATE INDEX idx_backfill_log_year_month ON backfill_log (year DESC, month DESC);
    CREATE INDEX idx_backfill_log_completed_at ON backfill_log (completed_at DESC)
      WHERE completed_at IS NOT NULL;
    CREATE INDEX idx_backfill_log_pending ON backfill_log (status, year DESC, month DESC)
      WHERE status IN ('pending', 'retry', 'failed');
  END IF;
END
$migration$;
