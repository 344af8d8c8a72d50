CREATE TABLE checkpoints (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  step INTEGER NOT NULL,
  epoch INTEGER NOT NULL DEFAULT 0,
  loss REAL,
  uri TEXT NOT NULL DEFAULT '',
  sha256 TEXT NOT NULL DEFAULT '',
  bytes INTEGER NOT NULL DEFAULT 0,
  pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
  created_unix_ms INTEGER NOT NULL, deleting_job_id INTEGER REFERENCES jobs(id), deleted_unix_ms INTEGER, deleted_by_job_id INTEGER REFERENCES jobs(id),
  UNIQUE (run_id, name)
);
CREATE TABLE evaluation_category_ap (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
  category_id INTEGER NOT NULL,
  category_name TEXT NOT NULL DEFAULT '',
  ap REAL NOT NULL,
  PRIMARY KEY (evaluation_id, category_id)
) WITHOUT ROWID;
CREATE TABLE "evaluation_gallery" (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
  pass INTEGER NOT NULL DEFAULT 0 CHECK (pass >= 0),
  image_id INTEGER NOT NULL,
  uri TEXT NOT NULL,
  bytes INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  detections INTEGER NOT NULL DEFAULT 0 CHECK (detections >= 0),
  deleting_job_id INTEGER REFERENCES jobs(id),
  deleted_unix_ms INTEGER,
  deleted_by_job_id INTEGER REFERENCES jobs(id),
  PRIMARY KEY (evaluation_id, pass, image_id)
) WITHOUT ROWID;
CREATE TABLE evaluations (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  checkpoint_id INTEGER REFERENCES checkpoints(id),
  iou_type TEXT NOT NULL CHECK (iou_type IN ('bbox', 'segm')),
  score_threshold REAL,
  top_k INTEGER,
  nms_iou REAL,
  max_dets INTEGER,
  dataset_fingerprint TEXT NOT NULL,
  eval_key TEXT NOT NULL,
  AP REAL NOT NULL,
  AP50 REAL NOT NULL,
  AP75 REAL NOT NULL,
  APs REAL NOT NULL,
  APm REAL NOT NULL,
  APl REAL NOT NULL,
  AR1 REAL NOT NULL,
  AR10 REAL NOT NULL,
  AR100 REAL NOT NULL,
  ARs REAL NOT NULL,
  ARm REAL NOT NULL,
  ARl REAL NOT NULL,
  created_unix_ms INTEGER NOT NULL
, detections INTEGER CHECK (detections >= 0), images INTEGER CHECK (images >= 0), detections_per_image_max INTEGER CHECK (detections_per_image_max >= 0), results_bytes INTEGER CHECK (results_bytes >= 0), gallery_uri TEXT, gallery_seed INTEGER);
CREATE TABLE "jobs" (
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
CREATE TABLE "leases" (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES "jobs"(id),
  worker_id INTEGER NOT NULL REFERENCES workers(id),
  granted_unix_ms INTEGER NOT NULL,
  expires_unix_ms INTEGER NOT NULL,
  released_unix_ms INTEGER,
  outcome TEXT CHECK (outcome IN ('succeeded', 'failed', 'expired', 'cancelled'))
);
CREATE TABLE metric_points (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  step INTEGER NOT NULL,
  key TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_id, key, step)
) WITHOUT ROWID;
CREATE TABLE "runs" (
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
CREATE TABLE schema_version (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_unix_ms INTEGER NOT NULL
);
CREATE TABLE sweeps (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  spec_json TEXT NOT NULL DEFAULT '{}',
  created_unix_ms INTEGER NOT NULL
, max_parallel INTEGER NOT NULL DEFAULT 0);
CREATE TABLE workers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL DEFAULT '',
  slots INTEGER NOT NULL DEFAULT 1,
  accelerator TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'alive' CHECK (state IN ('alive', 'lost', 'retired')),
  registered_unix_ms INTEGER NOT NULL,
  last_heartbeat_unix_ms INTEGER NOT NULL
);
CREATE INDEX checkpoints_by_deleting_job ON checkpoints(deleting_job_id)
  WHERE deleting_job_id IS NOT NULL;
CREATE INDEX checkpoints_by_name ON checkpoints(name);
CREATE INDEX evaluation_gallery_by_deleting_job ON evaluation_gallery(deleting_job_id)
  WHERE deleting_job_id IS NOT NULL;
CREATE INDEX evaluation_gallery_by_uri ON evaluation_gallery(uri);
CREATE INDEX evaluations_by_eval_key ON evaluations(eval_key);
CREATE UNIQUE INDEX evaluations_natural_key
  ON evaluations(run_id, IFNULL(checkpoint_id, 0), eval_key);
CREATE INDEX jobs_by_state ON jobs(state, priority);
CREATE UNIQUE INDEX leases_one_active_per_job ON leases(job_id) WHERE released_unix_ms IS NULL;
CREATE INDEX runs_by_fingerprint ON runs(config_fingerprint);
CREATE INDEX runs_by_sweep ON runs(sweep_id);
