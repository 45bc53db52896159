-- 0001: the server-mode record store. Unqualified names: the runner sets search_path to the store's schema.
--
-- Platform ids are ASCII by the API's rules, so their columns use COLLATE "C": byte-order comparisons
-- instead of the database's locale (strcoll per comparison). The indexes on these columns take a
-- random key per event; measured on the event path, locale collation cost ~2x on the id insert.
--
-- Dense ids: uid and pid carry no sequence default. The store assigns max(id)+1 under an advisory
-- lock inside the inserting transaction, so upserts of existing rows and rolled-back batches burn no
-- ids (a sequence would leave a gap for every ON CONFLICT and every rollback, and the in-memory
-- catalogue and ANN index size their arrays by the largest id).
CREATE TABLE users (
    uid     bigint PRIMARY KEY,
    user_id text   COLLATE "C" NOT NULL UNIQUE,
    doc     jsonb  NOT NULL
);

CREATE TABLE posts (
    pid             bigint PRIMARY KEY,
    post_id         text   COLLATE "C" NOT NULL UNIQUE,
    creator_uid     bigint NOT NULL REFERENCES users (uid),
    kind            text   NOT NULL,
    topics          text[] NOT NULL,
    category        text,
    sensitive       boolean NOT NULL,
    min_age         integer,
    created_at      double precision NOT NULL,
    allowed_regions text[],
    blocked_regions text[] NOT NULL,
    status          text   NOT NULL,
    vector          bytea,             -- (D,) float32 content vector
    media_vector    bytea,             -- float64, so the platform's vector round-trips exactly
    doc             jsonb  NOT NULL    -- the whole Post minus media_vector, as get_post returns it
);
CREATE INDEX posts_creator ON posts (creator_uid);

CREATE TABLE edges (
    src_uid    bigint NOT NULL REFERENCES users (uid),
    dst_uid    bigint NOT NULL REFERENCES users (uid),
    kind       text   NOT NULL,
    created_at double precision NOT NULL,
    PRIMARY KEY (src_uid, dst_uid, kind)
);

CREATE TABLE reports (
    reporter_uid bigint NOT NULL REFERENCES users (uid),
    pid          bigint NOT NULL REFERENCES posts (pid),
    reason       text   NOT NULL,
    created_at   double precision NOT NULL,
    PRIMARY KEY (reporter_uid, pid)
);
CREATE INDEX reports_pid ON reports (pid);

-- Idempotency key of events. A unique index on a partitioned table must contain the partition key
-- (ts), which would make (event_id, day) the key and store a retried event twice when its ts moved
-- to another day. This unpartitioned table holds exactly one row per stored event; retention deletes
-- the ids of a day partition (joined against it) in the same transaction that drops the partition.
CREATE TABLE event_ids (
    event_id text COLLATE "C" PRIMARY KEY
);

-- Events, range-partitioned by day on ts (epoch seconds). Partitions are created ahead and on
-- demand by the store (events_YYYYMMDD); there is no default partition, so a row never lands in a
-- catch-all that would block creating its day's partition later.
CREATE TABLE events (
    seq            bigserial,          -- insertion order: breaks ts ties in scans
    event_id       text    COLLATE "C" NOT NULL,
    user_id        text    COLLATE "C" NOT NULL,
    post_id        text    COLLATE "C",
    target_user_id text,
    kind           text    NOT NULL,
    ts             double precision NOT NULL,
    watch_ms       integer,
    duration_ms    integer,
    surface        text,
    request_id     text,
    position       integer
) PARTITION BY RANGE (ts);
CREATE INDEX events_user_ts ON events (user_id, ts, seq);
CREATE INDEX events_ts ON events (ts, seq);

-- Served impressions (what was shown, with scores and sources), for the labeller and training
-- datasets of later issues. Same day partitioning and retention as events.
CREATE TABLE impressions (
    request_id    text    COLLATE "C" NOT NULL,
    user_id       text    COLLATE "C" NOT NULL,
    post_id       text    COLLATE "C" NOT NULL,
    ts            double precision NOT NULL,
    surface       text,
    position      integer,
    score         real,
    sources       text[],
    model_version text
) PARTITION BY RANGE (ts);
CREATE INDEX impressions_request ON impressions (request_id);
CREATE INDEX impressions_user_ts ON impressions (user_id, ts);
