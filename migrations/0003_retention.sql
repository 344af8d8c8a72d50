-- 0003: checkpoint retention (docs/retention.md).
--
-- Jobs gain the kind 'retention' (a job of no run: run_id NULL, sweep_id NULL) and result_json
-- (what a finished job reports; for retention: counts, bytes freed and failures). SQLite cannot
-- change a CHECK constraint in place, so `jobs` is rebuilt with every row and id copied
-- unchanged, and `leases` with it: its foreign key names jobs, and with foreign keys on, dropping
-- a parent table that still has children fails. `jobs_new` is renamed to `jobs` after the old
-- one is dropped, which also rewrites leases_new's reference to it.
CREATE TABLE jobs_new (
  id INTEGER PRIMARY KEY,
  run_id INTEGER REFERENCES runs(id),
  sweep_id INTEGER REFERENCES sweeps(id),
  kind TEXT NOT NULL CHECK (kind IN ('train', 'eval', 'retention')),
  spec_json TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'leased', 'succeeded', 'failed', 'cancelled')),
  priority INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  created_unix_ms INTEGER NOT NULL,
  updated_unix_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  result_json TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO jobs_new (id, run_id, sweep_id, kind, spec_json, state, priority, attempts,
                      max_attempts, created_unix_ms, updated_unix_ms, last_error)
  SELECT id, run_id, sweep_id, kind, spec_json, state, priority, attempts, max_attempts,
         created_unix_ms, updated_unix_ms, last_error FROM jobs;

CREATE TABLE leases_new (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs_new(id),
  worker_id INTEGER NOT NULL REFERENCES workers(id),
  granted_unix_ms INTEGER NOT NULL,
  expires_unix_ms INTEGER NOT NULL,
  released_unix_ms INTEGER,
  outcome TEXT CHECK (outcome IN ('succeeded', 'failed', 'expired', 'cancelled'))
);
INSERT INTO leases_new (id, job_id, worker_id, granted_unix_ms, expires_unix_ms,
                        released_unix_ms, outcome)
  SELECT id, job_id, worker_id, granted_unix_ms, expires_unix_ms, released_unix_ms, outcome
  FROM leases;

DROP TABLE leases;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
ALTER TABLE leases_new RENAME TO leases;
CREATE INDEX jobs_by_state ON jobs(state, priority);
-- At most one unreleased lease per job.
CREATE UNIQUE INDEX leases_one_active_per_job ON leases(job_id) WHERE released_unix_ms IS NULL;

-- A checkpoint whose file a retention job deleted keeps its row (runs forked from it,
-- evaluations of it and the lineage still name it): deleted_unix_ms and deleted_by_job_id say
-- when and by which job. While a retention job holds a checkpoint for deletion (from the lease
-- that fixed its list until the job ends), deleting_job_id names that job, and pin, fork, eval
-- and start_from refuse the checkpoint.
ALTER TABLE checkpoints ADD COLUMN deleting_job_id INTEGER REFERENCES jobs(id);
ALTER TABLE checkpoints ADD COLUMN deleted_unix_ms INTEGER;
ALTER TABLE checkpoints ADD COLUMN deleted_by_job_id INTEGER REFERENCES jobs(id);
CREATE INDEX checkpoints_by_deleting_job ON checkpoints(deleting_job_id)
  WHERE deleting_job_id IS NOT NULL;
