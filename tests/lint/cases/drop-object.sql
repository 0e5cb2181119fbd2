-- Edge cases of drop-object: blank-line separated, each one migration's up file.
-- expect: drop-object
ALTER DOMAIN public.price DROP CONSTRAINT IF EXISTS price_positive CASCADE;

-- expect: drop-object
ALTER DOMAIN price DROP DEFAULT;

-- a domain of this migration: only its new columns use it
-- expect-not: drop-object
CREATE DOMAIN price AS numeric CONSTRAINT price_positive CHECK (VALUE >= 0) DEFAULT 0;
ALTER DOMAIN price DROP CONSTRAINT price_positive;
ALTER DOMAIN price DROP DEFAULT;

-- setting a default, and dropping NOT NULL (drop-not-null's), are not drops of this rule
-- expect-not: drop-object
-- expect: drop-not-null
ALTER DOMAIN price SET DEFAULT 1;
ALTER DOMAIN price DROP NOT NULL;

-- adding a constraint is domain-check-constraint's (NOT VALID: nothing)
-- expect-not: drop-object, domain-check-constraint
ALTER DOMAIN price ADD CONSTRAINT price_small CHECK (VALUE < 1000) NOT VALID;

-- a constraint this migration added: dropping it again is not a drop of anything in use
-- expect-not: drop-object
ALTER DOMAIN price ADD CONSTRAINT price_small CHECK (VALUE < 1000) NOT VALID;
ALTER DOMAIN price DROP CONSTRAINT price_small;

-- a function a trigger of this migration runs: PostgreSQL rejects dropping it (2BP01)
-- expect-error: drop-object
CREATE TABLE t (id int);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
DROP FUNCTION IF EXISTS touch();

-- … not once the trigger is gone, nor another function of that name (a trigger's takes
-- no arguments)
-- expect-not: drop-object
CREATE TABLE t (id int);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
DROP FUNCTION IF EXISTS touch(int);
DROP TRIGGER t_touch ON t;
DROP FUNCTION IF EXISTS touch();

-- a sequence a default of this migration reads, also under its new name; not through text
-- (an error: a sequence this migration made and renamed away is otherwise not reported)
-- expect-error: drop-object
CREATE SEQUENCE s;
CREATE TABLE t (id bigint DEFAULT nextval('s'), ref bigint DEFAULT nextval('s'::text));
ALTER SEQUENCE s RENAME TO s2;
DROP SEQUENCE s2;

-- expect-not: drop-object
CREATE SEQUENCE s;
CREATE TABLE t (ref bigint DEFAULT nextval('s'::text));
DROP SEQUENCE s;
