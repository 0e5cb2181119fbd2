-- Edge cases of migration-file-name: its examples name files (see the rule module); a
-- case here is a well-named migration's up file, which never fires it.
-- expect-not: migration-file-name
CREATE TABLE orders (id bigint PRIMARY KEY);
