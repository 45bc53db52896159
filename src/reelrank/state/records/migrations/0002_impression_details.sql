-- Impressions carry per-stage scores, model versions and the experiment bucket (ranking stack).
-- Sources, scores and model versions as JSON text, like the embedded store: read in bulk by the
-- labeller, never filtered on.
ALTER TABLE impressions ADD COLUMN seq bigserial;
ALTER TABLE impressions ADD COLUMN sources_json text;
ALTER TABLE impressions ADD COLUMN scores_json text;
ALTER TABLE impressions ADD COLUMN models_json text;
ALTER TABLE impressions ADD COLUMN bucket text;
CREATE INDEX impressions_ts ON impressions (ts, seq);
