#!/usr/bin/env bash
# End-to-end, two nodes: two dataplane daemons, each a Kubernetes node's forwarder in its own
# network namespace, their uplinks joined by a veth underlay, pods on taps. Everything lives in
# namespaces this script creates and always deletes.
#
#   nodea (ns) daemon A: uplink host-und (192.168.16.1), pod A 10.1.1.2 on tap1 (client)
#   nodeb (ns) daemon B: uplink host-und (192.168.16.2), pod B 10.1.2.2 on tap1, serving HTTP on
#              8080 (allowed by policy) and 9090 (denied)
#   poda, podb (ns) the pods
#
# --tunnel vxlan: Contiv's shape. Each node's loop0 is the BVI of bridge domain 1 with
#   vxlan_tunnel0 (VNI 10) to the other node; the remote pod subnet is routed via the other BVI,
#   whose MAC has a static L2 FIB entry; the tunnel traffic has a NAT44 identity mapping.
# --tunnel geneve: Antrea's shape. An L3-mode Geneve tunnel (VNI 0), the remote pod subnet routed
#   via the remote gateway on the tunnel, whose neighbour is the global virtual MAC
#   aa:bb:cc:dd:ee:ff.
# On node A a ClusterIP 10.96.0.10:80 whose only endpoint is pod B:8080 (NAT44 on node A); on
# node B pod B's ingress policy (its tap's output ACL) admits TCP 8080 only.
#
# Checks: pod A reaches pod B:8080 directly and through the ClusterIP; pod A -> pod B:9090 fails
# and node B counts the ACL drop; tshark on the underlay decodes the tunnel (VNI, inner
# addresses); the daemons' traces show the encap and decap nodes; both stop cleanly on SIGTERM.
#
# Usage: ci/e2e-two-node.sh [--release] [--tunnel vxlan|geneve]   (root; needs ip, curl, python3,
#        tshark)
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=debug
TUNNEL=vxlan
while [ $# -gt 0 ]; do
    case "$1" in
        --release) PROFILE=release ;;
        --tunnel) TUNNEL="${2:?--tunnel needs vxlan or geneve}"; shift ;;
        *) echo "usage: ci/e2e-two-node.sh [--release] [--tunnel vxlan|geneve]" >&2; exit 2 ;;
    esac
    shift
done
case "$TUNNEL" in vxlan|geneve) ;; *) echo "e2e-two-node: --tunnel is vxlan or geneve" >&2; exit 2 ;; esac
if [ "$(id -u)" != 0 ]; then
    echo "e2e-two-node: needs root (network namespaces)" >&2
    exit 1
fi
command -v tshark >/dev/null || { echo "e2e-two-node: needs tshark (apt-get install tshark)" >&2; exit 1; }

T0=$(date +%s)
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
if [ "$PROFILE" = release ]; then
    cargo build -q --release -p dataplane -p cli --bins
else
    cargo build -q -p dataplane -p cli --bins
fi
DP="$TARGET/$PROFILE/dataplane"
DPCTL="$TARGET/$PROFILE/dpctl"

TAG="dp2n$$"
NS_NA="$TAG-nodea"; NS_NB="$TAG-nodeb"; NS_A="$TAG-poda"; NS_B="$TAG-podb"
ALL_NS=("$NS_NA" "$NS_NB" "$NS_A" "$NS_B")
WORK=$(mktemp -d /tmp/dataplane-e2e2.XXXXXX)
PIDS=()
CAP_PID=""

log() { printf '%s e2e-two-node(%s): %s\n' "$(date +%T)" "$TUNNEL" "$*"; }

cleanup() {
    local rc=$?
    set +e
    for p in "${PIDS[@]}" $CAP_PID; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    for ns in "${ALL_NS[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    if [ $rc -ne 0 ]; then
        for n in a b; do
            log "FAILED (exit $rc); node $n log:"
            sed 's/^/    /' "$WORK/node$n.log" 2>/dev/null | tail -30
        done
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { log "FAIL: $*"; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
dpctl() { local n=$1; shift; "$DPCTL" -s "$WORK/node$n.sock" "$@"; }

for ns in "${ALL_NS[@]}"; do
    ip netns add "$ns"
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    in_ns "$ns" ip link set lo up
done
# The underlay: one veth, one end in each node namespace.
ip link add und netns "$NS_NA" type veth peer name und netns "$NS_NB"
in_ns "$NS_NA" ip link set und up
in_ns "$NS_NB" ip link set und up

# --- configuration ----------------------------------------------------------------------------
# node_cfg ME PEER MY_PODS PEER_PODS POD_NS MY_LOOP_MAC PEER_LOOP_MAC
node_cfg() {
    local me=$1 peer=$2 mine=$3 theirs=$4 podns=$5 lmac=$6 pmac=$7 n=$8
    cat <<EOF
create host-interface name und hw-addr 02:fe:00:00:0$n:01
create tap id 1 hw-addr 02:fe:00:00:0$n:11 host-if-name eth0 host-ns $podns host-ip4-addr $mine.2/24 host-ip4-gw $mine.1
set interface state host-und up
set interface state tap1 up
set interface ip address host-und 192.168.16.$me/24
set interface ip address tap1 $mine.1/24
EOF
    if [ "$TUNNEL" = vxlan ]; then
        cat <<EOF
create loopback interface mac $lmac instance 0
set interface state loop0 up
set interface ip address loop0 192.168.30.$me/24
create vxlan tunnel src 192.168.16.$me dst 192.168.16.$peer vni 10
create bridge-domain 1 learn 0 forward 1 flood 0 uu-flood 0 arp-term 0
set interface l2 bridge loop0 1 bvi shg 1
set interface l2 bridge vxlan_tunnel0 1 shg 1
l2fib add $pmac 1 vxlan_tunnel0 static
set ip neighbor loop0 192.168.30.$peer $pmac static
ip route add $theirs.0/24 via 192.168.30.$peer
EOF
    else
        cat <<EOF
create geneve tunnel local 192.168.16.$me remote 192.168.16.$peer vni 0 l3-mode
set interface mac address geneve_tunnel0 02:fe:00:00:0$n:11
set interface state geneve_tunnel0 up
set ip neighbor geneve_tunnel0 $theirs.1 aa:bb:cc:dd:ee:ff static
ip route add $theirs.0/24 via $theirs.1 geneve_tunnel0
EOF
    fi
}
TUN_IF=$([ "$TUNNEL" = vxlan ] && echo loop0 || echo geneve_tunnel0)
PORT=$([ "$TUNNEL" = vxlan ] && echo 4789 || echo 6081)
{
    node_cfg 1 2 10.1.1 10.1.2 "$NS_A" 1a:2b:3c:4d:5e:01 1a:2b:3c:4d:5e:02 1
    cat <<EOF
comment { NAT44 on node A: the ClusterIP, whose endpoint is on node B; replies come back through
          the tunnel side, which is NAT in+out; tunnel traffic from the node IP is not translated }
nat44 plugin enable sessions 4096
nat44 forwarding enable
nat44 add address 192.168.16.1
nat44 add identity mapping 192.168.16.1 udp $PORT
set interface nat44 out tap1
set interface nat44 in $TUN_IF out $TUN_IF
set interface nat44 out host-und output-feature
nat44 add load-balancing static mapping protocol tcp external 10.96.0.10:80 local 10.1.2.2:8080 probability 1 self-twice-nat out2in-only
set acl-plugin acl index 0 permit+reflect src 0.0.0.0/0
set acl-plugin interface tap1 input acl 0
EOF
} >"$WORK/nodea.cli"
{
    node_cfg 2 1 10.1.2 10.1.1 "$NS_B" 1a:2b:3c:4d:5e:02 1a:2b:3c:4d:5e:01 2
    cat <<EOF
comment { pod B's ingress policy: TCP 8080 only (its tap's output ACL), reflexive for replies }
set acl-plugin acl index 0 permit+reflect src 0.0.0.0/0 dst 10.1.2.2/32 proto 6 dport 8080
set acl-plugin interface tap1 output acl 0
EOF
} >"$WORK/nodeb.cli"

for n in a b; do
    cat >"$WORK/node$n.conf" <<EOF
unix { nodaemon cli-listen $WORK/node$n.sock log $WORK/node$n.log exec $WORK/node$n.cli }
buffers { buffers-per-numa 8192 }
EOF
done

# Capture the underlay before any traffic.
# Not through in_ns: a function would fork a subshell and $! would not be tshark.
ip netns exec "$NS_NA" tshark -i und -w "$WORK/underlay.pcapng" -f "udp port $PORT" -q \
    >"$WORK/capture.log" 2>&1 &
CAP_PID=$!

for n in a b; do
    ns_var="NS_N${n^^}"
    log "starting node $n"
    ip netns exec "${!ns_var}" "$DP" -c "$WORK/node$n.conf" >"$WORK/node$n.out" 2>&1 &
    PIDS+=($!)
done
for n in a b; do
    for _ in $(seq 100); do
        [ -S "$WORK/node$n.sock" ] && dpctl $n show interface >/dev/null 2>&1 && break
        sleep 0.1
    done
    dpctl $n show interface >/dev/null || { cat "$WORK/node$n.out"; fail "node $n does not answer"; }
done

mkdir -p "$WORK/www"
echo "hello from pod B" >"$WORK/www/index.html"
SERVE='import functools, http.server, socketserver, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
socketserver.TCPServer.allow_reuse_address = True
socketserver.TCPServer(("10.1.2.2", int(sys.argv[1])), h).serve_forever()'
in_ns "$NS_B" python3 -u -c "$SERVE" 8080 "$WORK/www" >"$WORK/http8080.log" 2>&1 &
in_ns "$NS_B" python3 -u -c "$SERVE" 9090 "$WORK/www" >"$WORK/http9090.log" 2>&1 &
for i in $(seq 50); do
    in_ns "$NS_B" python3 -c 'import socket; socket.create_connection(("10.1.2.2", 8080), 1)' \
        2>/dev/null && break
    sleep 0.1
done
[ "$i" -lt 50 ] || fail "pod B's server did not start"
sleep 1 # tshark is capturing

get() { in_ns "$1" curl -sS --max-time 5 --noproxy '*' "$2"; }

dpctl a trace add virtio-input 10 >/dev/null
dpctl b trace add af-packet-input 10 >/dev/null
log "pod A -> pod B 10.1.2.2:8080 across the nodes"
body=$(get "$NS_A" http://10.1.2.2:8080/) || fail "curl from pod A to pod B failed"
[ "$body" = "hello from pod B" ] || fail "pod A got '$body' from pod B"
grep -q '^10.1.1.2 ' "$WORK/http8080.log" || fail "pod B did not see pod A's own address"

log "pod A -> ClusterIP 10.96.0.10:80 (endpoint on node B)"
body=$(get "$NS_A" http://10.96.0.10/) || fail "curl from pod A to the ClusterIP failed"
[ "$body" = "hello from pod B" ] || fail "pod A got '$body' from the ClusterIP"

log "pod A -> pod B:9090 (denied by pod B's policy, on node B)"
count_denies() { dpctl b show errors | awk '/acl-plugin-out-ip4-fa/ && /ACL deny/ {n+=$1} END {print n+0}'; }
before=$(count_denies)
if in_ns "$NS_A" curl -sS --max-time 2 --noproxy '*' http://10.1.2.2:9090/ >/dev/null 2>&1; then
    fail "pod A reached pod B:9090, which the policy denies"
fi
after=$(count_denies)
[ "$after" -gt "$before" ] || fail "node B does not count the denied connection ($before -> $after)"
! grep -q "GET " "$WORK/http9090.log" || fail "pod B's 9090 server saw a request"
log "    node B ACL deny packets: $before -> $after"

ENCAP=$([ "$TUNNEL" = vxlan ] && echo vxlan4-encap || echo geneve4-encap)
DECAP=$([ "$TUNNEL" = vxlan ] && echo vxlan4-input || echo geneve4-input)
dpctl a show trace | grep -q "^[0-9:]*: $ENCAP" || fail "node A's trace has no $ENCAP record"
dpctl b show trace | grep -q "^[0-9:]*: $DECAP" || fail "node B's trace has no $DECAP record"
dpctl a show errors | sed 's/^/    A /'
dpctl b show errors | sed 's/^/    B /'

# --- the underlay, as tshark decodes it ------------------------------------------------------
# occurrence=a: ip.src/ip.dst list the outer then the inner header, comma-separated.
sleep 0.5
kill -INT "$CAP_PID" 2>/dev/null
for _ in $(seq 50); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$CAP_PID" 2>/dev/null || true
wait "$CAP_PID" 2>/dev/null || true
CAP_PID=""
[ -s "$WORK/underlay.pcapng" ] || fail "tshark captured nothing: $(cat "$WORK/capture.log")"
if [ "$TUNNEL" = vxlan ]; then
    FIELDS=(-e ip.src -e ip.dst -e udp.dstport -e vxlan.vni -e tcp.dstport)
else
    FIELDS=(-e ip.src -e ip.dst -e udp.dstport -e geneve.vni -e tcp.dstport)
fi
tshark -r "$WORK/underlay.pcapng" -T fields -E separator='|' -E occurrence=a "${FIELDS[@]}" \
    >"$WORK/underlay.txt" 2>"$WORK/tshark.err" || fail "tshark cannot read the capture: $(cat "$WORK/tshark.err")"
head -4 "$WORK/underlay.txt" | sed 's/^/    /'
VNI=$([ "$TUNNEL" = vxlan ] && echo 10 || echo 0)
python3 - "$WORK/underlay.txt" "$PORT" "$VNI" <<'EOF' || fail "the underlay does not carry the pods' traffic in the tunnel"
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
port, vni = sys.argv[2], sys.argv[3]
ok_fwd = ok_back = False
for r in rows:
    srcs, dsts, dport, v = r[0].split(","), r[1].split(","), r[2], r[3]
    # tshark prints the Geneve VNI in hex (0x000000), the VXLAN one in decimal.
    if dport != port or not v or int(v, 0) != int(vni) or len(srcs) < 2:
        continue
    outer = (srcs[0], dsts[0])
    inner = (srcs[1], dsts[1])
    if outer == ("192.168.16.1", "192.168.16.2") and inner == ("10.1.1.2", "10.1.2.2"):
        ok_fwd = True
    if outer == ("192.168.16.2", "192.168.16.1") and inner == ("10.1.2.2", "10.1.1.2"):
        ok_back = True
print(f"    {len(rows)} tunnel packets; pod A -> pod B inside: {ok_fwd}, back: {ok_back}")
sys.exit(0 if ok_fwd and ok_back else 1)
EOF

log "stopping both daemons (SIGTERM)"
for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && fail "a daemon ignored SIGTERM"
    wait "$p" || fail "a daemon exited with an error"
done
PIDS=()
log "passed in $(( $(date +%s) - T0 ))s"
