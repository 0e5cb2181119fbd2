"""Files written by ``atomig init`` and ``atomig new``."""

CONFIG_TEMPLATE = """\
# atomig configuration. Every key is optional; the values shown are the defaults.
# Precedence: --database-url > ATOMIG_DATABASE_URL / DATABASE_URL > this file > embedded default.

# The database to migrate. Prefer the DATABASE_URL environment variable, so that no
# password is committed. Without any, atomig runs an embedded PostgreSQL under .atomig/.
# database_url = "postgresql://app@localhost:5432/app"

# Where migration files live (YYYYMMDD_HHMM_slug.up.sql + .down.sql).
# migrations_dir = "migrations"

# Schema of atomig's own tables (ledger, journal, history).
# ledger_schema = "atomig"

# What to do when a step fails after earlier steps committed: "rollback" (run the down
# file, verify the schema is back to where it was) or "resume" (record the migration as
# partial; the next `atomig up` resumes it).
# on_failure = "rollback"

# How long a second runner waits for the first before giving up.
# runner_lock_wait = "30s"

# Apply pending migrations older than the latest applied one (branches merged late).
# allow_out_of_order = false

# A database older than its migrations (atomig adopted on an existing one): the schema
# they start from, as `atomig schema > db/base.sql` wrote it before the first migration.
# Scratch databases (verify, trace, up --dry-run) run it first; lint replays it as history.
# base_schema = "db/base.sql"

# The review gate: `atomig up` refuses migrations nobody approved as they are now
# (atomig review approve VERSION --by NAME writes migrations/atomig.reviewed).
# require_review = false

# Deployment environments, chosen by --env NAME or ATOMIG_ENV=NAME: their keys override the
# ones of this file (sections merge key by key). For example, at the end of this file:
#     [environments.production]
#     require_review = true

[session]
# The envelope of every migration (per migration: -- atomig: lock_timeout=5s).
# lock_timeout = "2s"
# statement_timeout = "15min"
# idle_in_transaction_session_timeout = "60s"
# Statement timeout of steps that cannot run in a transaction (CREATE INDEX
# CONCURRENTLY ...); 0 = none, so a large build is not killed half-way.
# concurrent_statement_timeout = "0"
# PostgreSQL 14+: the server checks this often that atomig is still connected while a
# statement runs, so that a killed runner's statement does not run on as an orphan.
# client_connection_check_interval = "1s"

[retry]
# Lock-bound failures (lock timeout, deadlock, serialization) are retried with
# exponential backoff and full jitter.
# max_attempts = 60
# initial_delay = "100ms"
# max_delay = "5s"
# budget = "10min"
# Per-attempt lock wait: short, so the migration never heads a lock queue for long.
# attempt_lock_timeout = "50ms"
# Before an attempt, wait for transactions older than blocker_age that hold
# conflicting locks, up to blocker_wait.
# blocker_age = "1s"
# blocker_wait = "30s"

[backfill]
# Batched data changes (atomig backfill, -- atomig: backfill): window sizes adapt toward
# target_duration between the bounds (set them equal for a fixed size).
# batch_size = 1000
# min_batch_size = 100
# max_batch_size = 20000
# target_duration = "200ms"
# sleep = "0"
# Pause while a standby or subscriber lags more (0: never check).
# max_replication_lag = "10s"
# After a batch other sessions waited on: pause, and halve the next batch (0: off).
# lock_wait_pause = "10ms"
# On a busy server (at least busy_sessions other sessions running queries), sleep
# nice_ratio times each batch's duration after it (0: never yield), and steer the
# windows toward busy_target_duration instead (shorter batches, shorter waits for the
# application's transactions).
# busy_sessions = 2
# nice_ratio = 3.0
# busy_target_duration = "50ms"
# analyze = true
"""

UP_TEMPLATE = """\
-- {name}: {slug}
--
-- atomig runs this file as ordered steps: statements that can share a transaction run in
-- one (with lock_timeout 2s, statement_timeout 15min, retried on lock timeouts); each
-- CREATE INDEX CONCURRENTLY / VACUUM / ... runs on its own. Per-migration settings go in
-- directive comments at the top of the file, e.g.   -- atomig: lock_timeout=5s
--
-- Safe patterns (see `atomig lint --explain RULE`):
--   ALTER TABLE t ADD COLUMN c bigint;                         -- nullable, no default rewrite
--   ALTER TABLE t ADD CONSTRAINT fk_t_c FOREIGN KEY (c) REFERENCES p (id) NOT VALID;
--   ALTER TABLE t VALIDATE CONSTRAINT fk_t_c;                  -- SHARE UPDATE EXCLUSIVE only
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t_c ON t (c);  -- does not block writes
--   -- atomig: backfill batch_size=2000
--   UPDATE t SET c = ... WHERE c IS NULL;                      -- batched by primary key

"""

DOWN_TEMPLATE = """\
-- {name}: {slug} (down)
--
-- Undo the up file, in reverse order. Guard every statement with IF EXISTS: if the up
-- fails part-way, atomig runs this file to roll back what did commit.
--   DROP INDEX CONCURRENTLY IF EXISTS idx_t_c;
--   ALTER TABLE t DROP CONSTRAINT IF EXISTS fk_t_c;
--   ALTER TABLE t DROP COLUMN IF EXISTS c;

"""
