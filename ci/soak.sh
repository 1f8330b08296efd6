#!/usr/bin/env bash
# Soak: the daemon as a node forwarder for SECONDS under a traffic mix and configuration churn,
# in network namespaces this script creates and always deletes.
#
#   node (ns) the daemon; pods A (tap1, 10.1.1.2) and B (tap2, 10.1.2.2, HTTP on 8080, iperf3)
#   podc (ns) a pod that comes and goes: every second its tap is created, configured (address,
#             NAT44 role, reflexive ACL), pinged through and deleted
# Traffic all along: curl from A to B through a ClusterIP (NAT44, ACLs), ping A -> B, an iperf3
# TCP stream A -> B at 50 Mbit/s. Churn every second besides pod C: a NAT44 static mapping added
# and deleted, an applied ACL replaced.
#
# At the end (churn stopped, traffic idle) the daemon's RSS, open descriptors, buffers in use and
# graph size must be back at the baseline taken after the first churn cycle; then counters are
# cleared, a last burst of traffic runs, and received = sent + counted drops - ARP requests
# (the only packets the node originates here) must hold exactly; the daemon must stop cleanly.
#
# Usage: ci/soak.sh [SECONDS] [--release]   (root; needs ip, curl, python3, iperf3, ping)
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=60
PROFILE=debug
for a in "$@"; do
    case "$a" in
        --release) PROFILE=release ;;
        [0-9]*) SECS="$a" ;;
        *) echo "usage: ci/soak.sh [SECONDS] [--release]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "soak: needs root (network namespaces)" >&2; exit 1; }
for t in curl iperf3 python3 ping; do
    command -v "$t" >/dev/null || { echo "soak: needs $t" >&2; exit 1; }
done

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
if [ "$PROFILE" = release ]; then
    cargo build -q --release -p dataplane -p cli --bins
else
    cargo build -q -p dataplane -p cli --bins
fi
DP="$TARGET/$PROFILE/dataplane"
DPCTL="$TARGET/$PROFILE/dpctl"

TAG="dps$$"
NS_NODE="$TAG-node"; NS_A="$TAG-poda"; NS_B="$TAG-podb"; NS_C="$TAG-podc"
ALL_NS=("$NS_NODE" "$NS_A" "$NS_B" "$NS_C")
WORK=$(mktemp -d /tmp/dataplane-soak.XXXXXX)
SOCK="$WORK/cli.sock"
DP_PID=""
BG=()

log() { printf '%s soak: %s\n' "$(date +%T)" "$*"; }

cleanup() {
    local rc=$?
    set +e
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
    if [ -n "$DP_PID" ] && kill -0 "$DP_PID" 2>/dev/null; then
        kill -TERM "$DP_PID"
        for _ in $(seq 50); do kill -0 "$DP_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DP_PID" 2>/dev/null
    fi
    for ns in "${ALL_NS[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    if [ $rc -ne 0 ]; then
        log "FAILED (exit $rc); daemon log:"
        sed 's/^/    /' "$WORK/dataplane.log" 2>/dev/null | tail -30
        sed 's/^/    /' "$WORK/dataplane.out" 2>/dev/null | tail -30
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { log "FAIL: $*"; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
dpctl() { "$DPCTL" -s "$SOCK" "$@"; }

for ns in "${ALL_NS[@]}"; do
    ip netns add "$ns"
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    in_ns "$ns" ip link set lo up
done

cat >"$WORK/setup.cli" <<EOF
create tap id 1 hw-addr 02:fe:00:00:00:11 host-if-name eth0 host-ns $NS_A host-ip4-addr 10.1.1.2/24 host-ip4-gw 10.1.1.1
create tap id 2 hw-addr 02:fe:00:00:00:12 host-if-name eth0 host-ns $NS_B host-ip4-addr 10.1.2.2/24 host-ip4-gw 10.1.2.1
set interface state tap1 up
set interface state tap2 up
set interface ip address tap1 10.1.1.1/24
set interface ip address tap2 10.1.2.1/24
nat44 plugin enable sessions 65536
nat44 forwarding enable
nat44 add address 10.1.2.1
set interface nat44 out tap1
set interface nat44 in tap2 out tap2
nat44 add load-balancing static mapping protocol tcp external 10.96.0.10:80 local 10.1.2.2:8080 probability 1 self-twice-nat out2in-only
set acl-plugin acl index 0 permit+reflect src 0.0.0.0/0
set acl-plugin acl index 1 permit src 0.0.0.0/0 dst 10.1.2.2/32 proto 6 dport 8080 , permit src 0.0.0.0/0 dst 10.1.2.2/32 proto 6 dport 5201 , permit src 0.0.0.0/0 proto 1
set acl-plugin interface tap1 input acl 0
set acl-plugin interface tap2 input acl 0
set acl-plugin interface tap2 output acl 1
EOF
cat >"$WORK/startup.conf" <<EOF
unix { nodaemon cli-listen $SOCK log $WORK/dataplane.log exec $WORK/setup.cli }
buffers { buffers-per-numa 16384 }
EOF
log "starting the daemon ($PROFILE build, ${SECS}s)"
ip netns exec "$NS_NODE" "$DP" -c "$WORK/startup.conf" >"$WORK/dataplane.out" 2>&1 &
DP_PID=$!
for _ in $(seq 100); do
    [ -S "$SOCK" ] && dpctl show interface >/dev/null 2>&1 && break
    sleep 0.1
done
dpctl show interface >/dev/null || fail "the daemon does not answer"

# Pod B serves HTTP and iperf3.
mkdir -p "$WORK/www"
echo "hello from pod B" >"$WORK/www/index.html"
in_ns "$NS_B" python3 -m http.server 8080 --bind 10.1.2.2 --directory "$WORK/www" \
    >"$WORK/http.log" 2>&1 &
BG+=($!)
in_ns "$NS_B" iperf3 -s -B 10.1.2.2 >"$WORK/iperf-s.log" 2>&1 &
BG+=($!)
for _ in $(seq 50); do
    in_ns "$NS_A" curl -s --max-time 1 --noproxy '*' http://10.96.0.10/ >/dev/null 2>&1 && break
    sleep 0.2
done
in_ns "$NS_A" curl -sf --max-time 2 --noproxy '*' http://10.96.0.10/ >/dev/null \
    || fail "pod A does not reach the service"

# One churn cycle: pod C comes, is used and goes; a mapping comes and goes; ACL 1 is replaced.
churn() {
    local k=$1
    dpctl "create tap id 3 hw-addr 02:fe:00:00:00:13 host-if-name eth0 host-ns $NS_C host-ip4-addr 10.1.3.2/24 host-ip4-gw 10.1.3.1" >/dev/null
    dpctl set interface state tap3 up
    dpctl set interface ip address tap3 10.1.3.1/24
    dpctl set interface nat44 in tap3 out tap3
    dpctl set acl-plugin acl index 5 permit+reflect src 10.1.3.0/24 >/dev/null
    dpctl set acl-plugin interface tap3 input acl 5
    in_ns "$NS_C" ping -c 1 -W 1 10.1.2.2 >/dev/null 2>&1 || true
    dpctl delete tap tap3
    dpctl delete acl-plugin acl index 5 >/dev/null
    dpctl nat44 add static mapping tcp local 10.1.2.2 8080 external 10.1.2.1 $((20000 + k % 1000))
    dpctl nat44 add static mapping tcp local 10.1.2.2 8080 external 10.1.2.1 $((20000 + k % 1000)) del
    dpctl set acl-plugin acl index 1 permit src 0.0.0.0/0 dst 10.1.2.2/32 proto 6 dport 8080 , permit src 0.0.0.0/0 dst 10.1.2.2/32 proto 6 dport 5201 , permit src 0.0.0.0/0 proto 1 >/dev/null
}

footprint() {
    local rss fds used nodes
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$DP_PID/status")
    fds=$(ls "/proc/$DP_PID/fd" | wc -l)
    used=$(dpctl show buffers | awk 'NR == 2 {print $NF}')
    nodes=$(dpctl show vlib graph | awk 'NR > 1 && /^[^ ]/' | wc -l)
    echo "$rss $fds $used $nodes"
}

churn 0
sleep 1
read -r RSS0 FDS0 USED0 NODES0 < <(footprint)
log "baseline: RSS ${RSS0} KiB, $FDS0 descriptors, $USED0 buffers in use, $NODES0 nodes"

# Traffic for the whole run (not through in_ns: $! must be the process itself).
ip netns exec "$NS_A" iperf3 -c 10.1.2.2 -t "$SECS" -b 50M >"$WORK/iperf-c.log" 2>&1 &
IPERF=$!
BG+=($IPERF)
( while :; do ip netns exec "$NS_A" curl -s --max-time 2 --noproxy '*' http://10.96.0.10/ >/dev/null; sleep 0.1; done ) &
CURLS=$!
BG+=($CURLS)
ip netns exec "$NS_A" ping -i 0.2 10.1.2.2 >"$WORK/ping.log" 2>&1 &
PING=$!
BG+=($PING)

T_END=$(( $(date +%s) + SECS ))
# RSS along the way (a leak grows steadily; tables being touched level off).
STEP=$(( SECS / 10 > 30 ? SECS / 10 : 30 ))
NEXT_LOG=$(( $(date +%s) + STEP ))
k=1
while [ "$(date +%s)" -lt "$T_END" ]; do
    churn "$k"
    k=$((k + 1))
    kill -0 "$DP_PID" 2>/dev/null || fail "the daemon died"
    if [ "$(date +%s)" -ge "$NEXT_LOG" ]; then
        log "  $k cycles: RSS $(awk '/^VmRSS/ {print $2}' "/proc/$DP_PID/status") KiB"
        NEXT_LOG=$(( NEXT_LOG + STEP ))
    fi
    sleep 1
done
log "$k churn cycles done"
wait "$IPERF" || fail "iperf3 failed: $(tail -3 "$WORK/iperf-c.log")"
grep -E "sender|receiver" "$WORK/iperf-c.log" | sed 's/^/    /'
kill "$CURLS" 2>/dev/null || true
kill -INT "$PING" 2>/dev/null || true
wait "$PING" 2>/dev/null || true
sleep 2

read -r RSS1 FDS1 USED1 NODES1 < <(footprint)
log "after:    RSS ${RSS1} KiB, $FDS1 descriptors, $USED1 buffers in use, $NODES1 nodes"
[ "$FDS1" = "$FDS0" ] || fail "descriptors $FDS0 -> $FDS1"
[ "$USED1" = "$USED0" ] || fail "buffers in use $USED0 -> $USED1"
[ "$NODES1" = "$NODES0" ] || fail "graph nodes $NODES0 -> $NODES1"
# RSS: allocator slack aside (16 MiB), it must not grow with the run.
[ $((RSS1 - RSS0)) -lt 16384 ] || fail "RSS grew by $((RSS1 - RSS0)) KiB"
LOSS=$(grep -oE '[0-9.]+% packet loss' "$WORK/ping.log" || echo "?")
log "ping A -> B during the run: $LOSS"

# Counters balance over a quiet interval: every packet received left or was counted as a drop.
dpctl clear interfaces
dpctl clear errors
for _ in $(seq 20); do in_ns "$NS_A" curl -s --max-time 2 --noproxy '*' http://10.96.0.10/ >/dev/null; done
in_ns "$NS_A" ping -c 20 -i 0.05 10.1.2.2 >/dev/null 2>&1 || true
sleep 1
python3 - "$(dpctl show interface)" "$(dpctl show errors)" <<'EOF' || fail "counters do not balance"
import re, sys
ifs, errs = sys.argv[1], sys.argv[2]
tot = {"rx packets": 0, "tx packets": 0, "drops": 0, "punt": 0}
for l in ifs.splitlines():
    m = re.search(r"(rx packets|tx packets|drops|punt)\s+(\d+)\s*$", l)
    if m:
        tot[m.group(1)] += int(m.group(2))
arp = sum(int(l.split()[0]) for l in errs.splitlines()
          if "ARP requests sent" in l and l.split()[0].isdigit())
lhs, rhs = tot["rx packets"] + arp, tot["tx packets"] + tot["drops"] + tot["punt"]
print(f"    rx {tot['rx packets']} + ARP requests {arp} = {lhs}; tx {tot['tx packets']} + drops {tot['drops']} + punt {tot['punt']} = {rhs}")
sys.exit(0 if lhs == rhs and lhs > 0 else 1)
EOF

log "stopping the daemon (SIGTERM)"
kill -TERM "$DP_PID"
for _ in $(seq 50); do kill -0 "$DP_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DP_PID" 2>/dev/null && fail "the daemon ignored SIGTERM"
wait "$DP_PID" || fail "the daemon exited with an error"
DP_PID=""
grep -qi "panick" "$WORK/dataplane.out" "$WORK/dataplane.log" 2>/dev/null && fail "a panic was logged"
log "passed: ${SECS}s, $k churn cycles, RSS ${RSS0} -> ${RSS1} KiB"
