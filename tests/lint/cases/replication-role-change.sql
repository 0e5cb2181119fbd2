-- Edge cases of replication-role-change: blank-line separated, each one migration's up file.
-- expect: replication-role-change
SET LOCAL session_replication_role TO 'local';

-- expect: replication-role-change
ALTER DATABASE app SET session_replication_role = replica;

-- expect: replication-role-change
ALTER SYSTEM SET session_replication_role = replica;

-- expect-not: replication-role-change
SET session_replication_role = origin;

-- expect-not: replication-role-change
SET session_replication_role TO DEFAULT;

-- expect-not: replication-role-change
ALTER ROLE app RESET session_replication_role;

-- expect-not: replication-role-change
SET search_path = app;
