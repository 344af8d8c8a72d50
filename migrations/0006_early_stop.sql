-- 0006: early stopping of sweep trials (docs/sweeps.md "Early stopping").
--
-- Runs gain the status 'stopped' (the coordinator ended the trial at an evaluation rung because
-- it was not promising), the step it was stopped at (stopped_at_step; NULL unless stopped) and
-- why (stop_reason: method, metric, its value and the comparison). SQLite cannot change a CHECK
-- constraint in place, so `runs` is rebuilt with every row and id copied unchanged. Every other
-- table keeps its `REFERENCES runs(id)`, which names the rebuilt table after the rename; the
-- migrator runs migrations with foreign-key enforcement off and checks every foreign key
-- (PRAGMA foreign_key_check) before it commits (SQLite's documented procedure for rebuilding a
-- table that others reference).
--
-- A later migration that adds a column to `runs` must be numbered above this one: this rebuild
-- copies the columns it knows.
CREATE TABLE runs_new (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  sweep_id INTEGER REFERENCES sweeps(id),
  status TEXT NOT NULL
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'diverged',
                      'stopped')),
  config_json TEXT NOT NULL,
  config_fingerprint TEXT NOT NULL,
  parent_run_id INTEGER REFERENCES runs(id),
  parent_checkpoint_id INTEGER REFERENCES checkpoints(id),
  created_unix_ms INTEGER NOT NULL,
  updated_unix_ms INTEGER NOT NULL,
  stopped_at_step INTEGER CHECK (stopped_at_step >= 0),
  stop_reason TEXT NOT NULL DEFAULT ''
);
INSERT INTO runs_new (id, name, sweep_id, status, config_json, config_fingerprint, parent_run_id,
                      parent_checkpoint_id, created_unix_ms, updated_unix_ms)
  SELECT id, name, sweep_id, status, config_json, config_fingerprint, parent_run_id,
         parent_checkpoint_id, created_unix_ms, updated_unix_ms FROM runs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
CREATE INDEX runs_by_sweep ON runs(sweep_id);
CREATE INDEX runs_by_fingerprint ON runs(config_fingerprint);
