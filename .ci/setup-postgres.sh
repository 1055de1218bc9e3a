#!/usr/bin/env bash
# Make the PostgreSQL server binaries available to the tests (idempotent).
#
# The tests start their own throwaway cluster (tests/_pg.py: initdb into a temp dir, pg_ctl
# start on a free loopback port, as the `postgres` OS user when run as root), so all this
# script needs is the Debian server package; no service is started here. To use an existing
# server instead, export HONED_TEST_POSTGRES_URL=postgresql://user@host:port/db.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; then
    echo "setup-postgres: $(ls -d /usr/lib/postgresql/*/bin | tail -1) already installed"
else
    export DEBIAN_FRONTEND=noninteractive
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    # postgresql pulls the versioned server package (postgresql-15 on Debian 12).
    $sudo_cmd apt-get install -y -qq --no-install-recommends postgresql > /dev/null
    # The packaged cluster is not needed; keep it from holding port 5432.
    if command -v pg_lsclusters > /dev/null; then
        pg_lsclusters -h | while read -r ver name _; do
            $sudo_cmd pg_ctlcluster "$ver" "$name" stop 2> /dev/null || true
        done
    fi
    echo "setup-postgres: installed $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
fi
# The tests run the server as `postgres` when they run as root; runuser comes from util-linux.
id postgres > /dev/null
command -v runuser > /dev/null
