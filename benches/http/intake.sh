#!/usr/bin/env bash
# Intake throughput (POST /api/requests) against real `qihu serve` processes, on SQLite or PostgreSQL, with one
# or more instances sharing the load. Each instance gets an equal share of the connections (one wrk per
# instance, all at once); afterwards the database must hold at least as many requests as wrk counted 201s.
#
#   benches/http/intake.sh sqlite 1              # one instance on a fresh SQLite file
#   benches/http/intake.sh postgres 2            # two instances on a fresh PostgreSQL database
#
# Environment: CONNECTIONS (32 in all), SECONDS_PER_RUN (15), QIHU (the binary, default target/release/qihu),
# QIHU_BENCH_POSTGRES (the server, default postgres://postgres@127.0.0.1:5432), POOL (PostgreSQL connections
# per instance, 16). Needs wrk (Debian package `wrk`) and psql for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/../.."

backend=${1:-sqlite}
instances=${2:-1}
connections=${CONNECTIONS:-32}
seconds=${SECONDS_PER_RUN:-15}
qihu=${QIHU:-target/release/qihu}
server=${QIHU_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
pool=${POOL:-16}
work=$(mktemp -d /tmp/qihu-intake-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

case "$backend" in
sqlite) database="sqlite://$work/qihu.db" ;;
postgres)
    name="qihu_bench_intake"
    psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name"
    database="$server/$name?max_connections=$pool"
    ;;
*) echo "backend: sqlite or postgres" >&2; exit 2 ;;
esac

# A small policy base, so the first start builds quickly; intake does not depend on its size.
export QIHU_SITE__POLICIES_DIR=tests/fixtures/good/policies QIHU_SITE__OUTPUT_DIR="$work/public" \
    QIHU_SEARCH__INDEX_DIR="$work/index" QIHU_STORAGE__DATABASE_URL="$database" \
    QIHU_STORAGE__SECRET_FILE="$work/secret.key" QIHU_MAIL__OUTBOX_DIR="$work/outbox" \
    QIHU_INTAKE__PER_MINUTE=0 QIHU_MAIL__POLL_SECONDS=3600 RUST_LOG=error
"$qihu" build >/dev/null

addresses=()
for i in $(seq 1 "$instances"); do
    "$qihu" serve --addr 127.0.0.1:0 >"$work/serve-$i.log" 2>&1 &
    pids+=($!)
    until grep -q "http://" "$work/serve-$i.log" 2>/dev/null; do sleep 0.2; done
    addresses+=("$(grep -o 'http://[0-9.:]*' "$work/serve-$i.log" | head -1)")
done

per_instance=$((connections / instances))
threads=$((per_instance < 2 ? 1 : 2))
wrks=()
for i in "${!addresses[@]}"; do
    wrk -t"$threads" -c"$per_instance" -d"${seconds}s" --latency -s benches/http/intake.lua \
        "${addresses[$i]}" >"$work/wrk-$i.txt" &
    wrks+=($!)
done
for pid in "${wrks[@]}"; do wait "$pid"; done

total=0
created=0
for i in "${!addresses[@]}"; do
    echo "== instance $((i + 1)) (${addresses[$i]})"
    grep -E "Requests/sec|^ +50%|^ +90%|^ +99%|Non-2xx|requests in" "$work/wrk-$i.txt"
    rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$i.txt")
    total=$(awk -v a="$total" -v b="$rate" 'BEGIN {print a + b}')
    done_requests=$(awk '/requests in/ {print $1}' "$work/wrk-$i.txt")
    refused=$(awk '/Non-2xx/ {print $5}' "$work/wrk-$i.txt")
    created=$((created + done_requests - ${refused:-0}))
done

case "$backend" in
sqlite) stored=$(sqlite3 "$work/qihu.db" "SELECT COUNT(*) FROM requests") ;;
postgres) stored=$(psql "$server/$name" -tAc "SELECT COUNT(*) FROM requests") ;;
esac
echo "== $backend, $instances instance(s), $connections connections: $total requests/s in all"
echo "   201 responses counted by wrk: $created; requests in the database: $stored"
if [ "$stored" -lt "$created" ]; then
    echo "LOST: fewer requests stored than acknowledged" >&2
    exit 1
fi
