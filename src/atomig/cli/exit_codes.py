"""Exit codes, documented in README ("Exit codes")."""

OK = 0
FAILURE = 1  # a migration failed (and was rolled back), lint errors, a busy runner
USAGE = 2  # bad usage, configuration, migration files or database URL
PENDING = 3  # `status --check`: migrations are waiting to be applied
ATTENTION = 4  # partial migration, edited or missing applied files, invalid objects
INTERRUPTED = 130  # Ctrl-C
