-- 0005: gallery images are counted against retention like checkpoints (issue 7,
-- docs/retention.md "Galleries").
--
-- evaluation_gallery gains what checkpoints gained in 0003: deleting_job_id (a retention job
-- holds the file for deletion, from the lease that fixed its list until the job ends),
-- deleted_unix_ms and deleted_by_job_id (the file is gone; the row stays, like the evaluation's
-- COCO tables and counts). It also gains `pass`: 0 is the gallery the evaluation shows (the
-- folder in evaluations.gallery_uri); 1, 2, ... are the files of later passes of the same
-- evaluation (a second eval job of the same checkpoint and settings writes its gallery into its
-- own folder), registered so that retention deletes them too instead of leaving them orphaned.
--
-- The primary key changes from (evaluation_id, image_id) to (evaluation_id, pass, image_id), and
-- SQLite cannot alter a primary key in place: the table is rebuilt with every row copied as
-- pass 0. No table references evaluation_gallery, so nothing else is rebuilt.
CREATE TABLE evaluation_gallery_new (
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
INSERT INTO evaluation_gallery_new (evaluation_id, pass, image_id, uri, bytes, detections)
  SELECT evaluation_id, 0, image_id, uri, bytes, detections FROM evaluation_gallery;
DROP TABLE evaluation_gallery;
ALTER TABLE evaluation_gallery_new RENAME TO evaluation_gallery;
-- The bbox and segm rows of one pass name the same file: holds and deletion reports go by uri.
CREATE INDEX evaluation_gallery_by_uri ON evaluation_gallery(uri);
CREATE INDEX evaluation_gallery_by_deleting_job ON evaluation_gallery(deleting_job_id)
  WHERE deleting_job_id IS NOT NULL;
