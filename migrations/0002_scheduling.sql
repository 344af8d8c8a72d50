-- 0002: what the scheduler needs beyond 0001's tables: a job's last error (shown by
-- `ablate watch` / `show`) and a sweep's max_parallel (0 = no limit).
ALTER TABLE jobs ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE sweeps ADD COLUMN max_parallel INTEGER NOT NULL DEFAULT 0;
