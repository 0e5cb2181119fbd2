-- Edge cases of row-security-without-policy: blank-line separated, each one migration's up file.
-- A table older than the migrations, no database: a policy may exist (warning).
-- expect: row-security-without-policy
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;

-- A policy created earlier in the same file counts.
-- expect-not: row-security-without-policy
CREATE POLICY accounts_owner ON accounts USING (owner = current_user);
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;

-- ... and one dropped again does not.
-- expect: row-security-without-policy
CREATE POLICY accounts_owner ON accounts USING (owner = current_user);
DROP POLICY accounts_owner ON accounts;
ALTER TABLE accounts FORCE ROW LEVEL SECURITY;

-- A policy on another table (same name in another schema) does not count.
-- expect: row-security-without-policy
CREATE POLICY accounts_owner ON audit.accounts USING (owner = current_user);
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;

-- A table created in this migration: nothing reads it yet.
-- expect-not: row-security-without-policy
CREATE TABLE notes (id bigint PRIMARY KEY, owner text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;

-- Turning it off is not this rule's hazard.
-- expect-not: row-security-without-policy
ALTER TABLE accounts DISABLE ROW LEVEL SECURITY;

-- Restrictive policies alone still deny every row.
-- expect: row-security-without-policy
CREATE POLICY accounts_only_mine ON accounts AS RESTRICTIVE USING (owner = current_user);
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;

-- ENABLE and FORCE in one statement: one hazard, one finding.
-- expect: row-security-without-policy
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
