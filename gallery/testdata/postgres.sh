#!/usr/bin/env bash
# postgres.sh starts a throwaway PostgreSQL server for the gallery tests and
# prints its URL on stdout:
#
#	export FACEREC_TEST_POSTGRES=$(gallery/testdata/postgres.sh)
#	go test ./gallery/
#
# The cluster is initdb'ed into a new temporary directory and listens on
# 127.0.0.1 only (port $PGTEST_PORT, else the first free one from 55432); the
# command that stops it and removes the directory is printed on stderr.
# Trust authentication and fsync=off: it is for tests, never for data.
#
# Needs the PostgreSQL server binaries (Debian: apt-get install -y postgresql).
# Run as root, the server runs as the "postgres" user: initdb refuses root.
set -euo pipefail

bindir=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bindir/initdb" ]; then
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ ! -x "$bindir/initdb" ]; then
	echo "postgres.sh: no PostgreSQL server binaries (initdb) found; apt-get install -y postgresql" >&2
	exit 1
fi

port=${PGTEST_PORT:-}
if [ -z "$port" ]; then
	for p in $(seq 55432 55532); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			port=$p
			break
		fi
	done
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/facerec-pg.XXXXXX")
as=()
if [ "$(id -u)" = 0 ]; then
	chown postgres "$dir"
	as=(runuser -u postgres --)
fi

"${as[@]}" "$bindir/initdb" -D "$dir/data" -U facerec --auth=trust -E UTF8 >"$dir/initdb.log"
"${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null
"${as[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U facerec facerec_test

echo "postgres.sh: server in $dir; stop it with: ${as[*]} $bindir/pg_ctl -D $dir/data stop -m fast && rm -rf $dir" >&2
echo "postgres://facerec@127.0.0.1:$port/facerec_test?sslmode=disable"
