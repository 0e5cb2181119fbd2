-- Edge cases of unique-without-partition-key: blank-line separated, each one migration's up file.
-- expect: unique-without-partition-key
-- The common one: a serial key on a table partitioned by time.
CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL)
  PARTITION BY RANGE (at);

-- expect: unique-without-partition-key
-- A partition key by expression takes no unique key at all.
CREATE TABLE logs (id bigint, code text, PRIMARY KEY (id, code))
  PARTITION BY LIST (lower(code));

-- expect: unique-without-partition-key
CREATE TABLE m (id bigint, at date) PARTITION BY RANGE (at);
ALTER TABLE m ADD COLUMN code text UNIQUE;

-- expect-not: unique-without-partition-key
-- A partition (not itself partitioned) takes any key; so does a plain table.
CREATE TABLE m (id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE UNIQUE INDEX m_2024_id ON m_2024 (id);
CREATE TABLE plain (id bigint PRIMARY KEY);
ALTER TABLE m ADD CONSTRAINT m_key UNIQUE (at, id);
