-- 0004: what an evaluation produced besides the COCO tables (issue 7): detection counts, the
-- size of the COCO results file, and a gallery of annotated validation images.
--
-- Numbered 0004 while 0003 is another branch's (retention): the migrator applies every embedded
-- migration that schema_version does not list, so versions may have gaps (migrations/README.md).
--
-- Counts are NULL for evaluations recorded without them (diary imports, workers from before this
-- migration); detections and images are set together, the per-image max and the results size
-- may stay NULL (not reported by ablate-train builds from before issue 7). gallery_uri is the gallery's folder
-- (file:///abs/dir, shared filesystem like checkpoint URIs); NULL: no gallery.
ALTER TABLE evaluations ADD COLUMN detections INTEGER CHECK (detections >= 0);
ALTER TABLE evaluations ADD COLUMN images INTEGER CHECK (images >= 0);
ALTER TABLE evaluations ADD COLUMN detections_per_image_max INTEGER CHECK (detections_per_image_max >= 0);
ALTER TABLE evaluations ADD COLUMN results_bytes INTEGER CHECK (results_bytes >= 0);
ALTER TABLE evaluations ADD COLUMN gallery_uri TEXT;
ALTER TABLE evaluations ADD COLUMN gallery_seed INTEGER;

-- One row per gallery image of an evaluation. The bbox and segm evaluations of one run of the
-- evaluator list the same files (one set of images per evaluation pass): count bytes by DISTINCT
-- uri. uri is file:///abs/dir/NNNNNN.jpg inside the evaluation's gallery_uri.
CREATE TABLE evaluation_gallery (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
  image_id INTEGER NOT NULL,
  uri TEXT NOT NULL,
  bytes INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  detections INTEGER NOT NULL DEFAULT 0 CHECK (detections >= 0),
  PRIMARY KEY (evaluation_id, image_id)
) WITHOUT ROWID;
