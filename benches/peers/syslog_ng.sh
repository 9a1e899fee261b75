#!/usr/bin/env bash
# Peer comparison for issue 3: the same generated syslog stream over TCP into
#   (a) ferrodef (parse, normalize, transforms, WAL, index: until all are searchable), and
#   (b) syslog-ng (Debian package) parsing it and writing one JSON document per message to a file.
# Usage: benches/peers/syslog_ng.sh [EVENTS] [CONNECTIONS]   (needs a release build and syslog-ng)
set -euo pipefail
EVENTS=${1:-500000}
CONNS=${2:-4}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${FERRODEF_BIN:-$ROOT/target/release/ferrodef}
[ -x "$BIN" ] || { echo "build first: cargo build --release (or set FERRODEF_BIN)" >&2; exit 1; }
command -v syslog-ng >/dev/null || { echo "install syslog-ng: apt-get install -y syslog-ng-core" >&2; exit 1; }

DIR=$(mktemp -d)
trap 'kill $(cat "$DIR/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$DIR/syslog-ng.conf" <<CONF
@version: 3.38
options { threaded(yes); flush_lines(1000); keep_hostname(yes); chain_hostnames(no); stats_freq(0); log_fifo_size(100000); };
source s_net { network(transport("tcp") ip("127.0.0.1") port($PORT) max-connections(64) log-iw-size(400000)); };
destination d_json { file("$DIR/out.json" template("\$(format-json --scope rfc5424 --scope nv-pairs)\n")); };
log { source(s_net); destination(d_json); };
CONF
syslog-ng -F -f "$DIR/syslog-ng.conf" --persist-file="$DIR/persist" --pidfile="$DIR/pid" --control="$DIR/ctl" --no-caps >"$DIR/sng.log" 2>&1 &
for _ in $(seq 100); do [ -s "$DIR/pid" ] && break; sleep 0.1; done
sleep 0.5

echo "== ferrodef (TCP syslog -> searchable) =="
"$BIN" bench syslog --events "$EVENTS" --connections "$CONNS" --json | tee "$DIR/ferrodef.json"
echo "== syslog-ng (TCP syslog -> JSON file) =="
"$BIN" bench syslog --events "$EVENTS" --connections "$CONNS" --target "127.0.0.1:$PORT" --wait-file "$DIR/out.json" --json | tee "$DIR/sng.json"
python3 - "$DIR/ferrodef.json" "$DIR/sng.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
a, b = f["end_to_end_per_second"], s["end_to_end_per_second"]
print(f"ferrodef {a:,.0f} events/s (searchable), syslog-ng {b:,.0f} events/s (JSON file): ratio {a/b:.2f}")
PY
