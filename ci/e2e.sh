#!/usr/bin/env bash
# End-to-end: the dataplane daemon as a Kubernetes node's forwarder, in network namespaces this
# script creates and always deletes.
#
#   node  (ns) the daemon; its uplink is the veth up0, opened with AF_PACKET (host-up0), AF_XDP
#              (up0/0) or DPDK's net_af_packet PMD (net_af_packet0), by --uplink
#   poda  (ns) pod A 10.1.1.2 on tap1 (client)
#   podb  (ns) pod B 10.1.2.2 on tap2, serving HTTP on 8080 (allowed) and 9090 (denied by policy)
#   hostn (ns) the host stack 172.30.1.2 on tap0
#   ext   (ns) an external client 10.176.16.1 on the veth ext0 (peer of up0)
#
# Configuration (ci/e2e/setup.cli): a ClusterIP service 10.96.0.10:80 -> pod B:8080 (load-balanced
# static mapping, self-twice-nat, out2in-only), a NodePort 10.176.25.244:30232 -> pod B:8080 with
# SNAT to pod B's gateway 10.1.2.1 (seed 000's shape), a reflexive ACL on every tap's input and a
# global egress ACL on the pod taps' output (TCP 8080 to pod B and ICMP only).
#
# Checks: curl from pod A to the ClusterIP and from ext to the NodePort get pod B's page (and the
# client address pod B logs is the one NAT should show); the host reaches pod B; curl to pod B:9090
# fails and `show errors` counts the ACL drop; `show trace` shows a packet from virtio-input to
# tap2-output; the daemon stops cleanly on SIGTERM.
#
# Usage: ci/e2e.sh [--release] [--uplink af_packet|af_xdp|dpdk] [--iperf SECONDS [--streams N] [--udp BYTES]]
#                  [--tap FLAG[,FLAG]]
#        (--tap: the pod and host taps are created with those flags: gso, csum-offload,
#        gro-coalesce (VPP's tapv2 flags), io-uring or no-io-uring (ours: batched tap I/O, the
#        default without gso); default none.
#        --udp: iperf3 sends UDP datagrams of BYTES at full rate instead of TCP, and packets per
#        second are reported)
#        ci/e2e.sh --two-node vxlan|geneve [--release]   (two nodes: ci/e2e-two-node.sh)
#        (root; needs ip, ethtool, curl, python3; af_xdp needs libxdp, dpdk builds --features dpdk;
#        --iperf also needs iperf3 and compares with the kernel forwarding between veths;
#        --two-node needs tshark)
set -euo pipefail
cd "$(dirname "$0")/.."

# Two nodes over a tunnel: its own script (two daemons, a veth underlay).
for a in "$@"; do
    if [ "$a" = --two-node ]; then
        args=()
        while [ $# -gt 0 ]; do
            case "$1" in
                --two-node) args+=(--tunnel "${2:?--two-node needs vxlan or geneve}"); shift ;;
                *) args+=("$1") ;;
            esac
            shift
        done
        exec ci/e2e-two-node.sh "${args[@]}"
    fi
done

PROFILE=debug
IPERF=0
STREAMS=1
UDP_LEN=0
TAP_FLAGS=""
UPLINK_KIND=af_packet
while [ $# -gt 0 ]; do
    case "$1" in
        --release) PROFILE=release ;;
        --iperf) IPERF="${2:?--iperf needs seconds}"; shift ;;
        --streams) STREAMS="${2:?--streams needs a number}"; shift
                   case "$STREAMS" in ''|*[!0-9]*|0) echo "--streams: expected a number of iperf3 streams (1-128), got $STREAMS" >&2; exit 2 ;; esac ;;
        --uplink) UPLINK_KIND="${2:?--uplink needs af_packet, af_xdp or dpdk}"; shift ;;
        --udp) UDP_LEN="${2:?--udp needs a datagram size}"; shift
               case "$UDP_LEN" in ''|*[!0-9]*) echo "--udp: expected a datagram size in bytes (16-1472), got $UDP_LEN" >&2; exit 2 ;; esac
               if [ "$UDP_LEN" -lt 16 ] || [ "$UDP_LEN" -gt 1472 ]; then echo "--udp: expected a datagram size in bytes (16-1472), got $UDP_LEN" >&2; exit 2; fi ;;
        --tap) for f in $(echo "${2:?--tap needs gso, csum-offload, gro-coalesce or io-uring}" | tr , ' '); do
                   case "$f" in gso|csum-offload|io-uring|no-io-uring) TAP_FLAGS="$TAP_FLAGS $f" ;; gro-coalesce) TAP_FLAGS="$TAP_FLAGS gso gro-coalesce" ;;
                       *) echo "--tap: expected gso, csum-offload, gro-coalesce, io-uring or no-io-uring (comma-separated), got $f" >&2; exit 2 ;; esac
               done; shift ;;
        *) echo "usage: ci/e2e.sh [--release] [--uplink af_packet|af_xdp|dpdk] [--iperf SECONDS [--streams N] [--udp BYTES]] [--tap FLAG[,FLAG]] | --two-node vxlan|geneve" >&2; exit 2 ;;
    esac
    shift
done
FEATURES=()
DPDK_SECTION=""
case "$UPLINK_KIND" in
    af_packet) UPLINK=host-up0; UPLINK_CREATE="create host-interface name up0" ;;
    af_xdp) UPLINK=up0/0; UPLINK_CREATE="create interface af_xdp host-if up0 no-zero-copy" ;;
    dpdk)
        UPLINK=net_af_packet0
        UPLINK_CREATE="comment { the uplink comes from startup.conf's dpdk section }"
        DPDK_SECTION="dpdk { no-huge no-pci vdev net_af_packet0,iface=up0 }"
        FEATURES=(--features dpdk) ;;
    *) echo "e2e: --uplink is af_packet, af_xdp or dpdk, not '$UPLINK_KIND'" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
    echo "e2e: needs root (network namespaces)" >&2
    exit 1
fi

T0=$(date +%s)
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
if [ "$PROFILE" = release ]; then
    cargo build -q --release -p dataplane -p cli --bins "${FEATURES[@]}"
else
    cargo build -q -p dataplane -p cli --bins "${FEATURES[@]}"
fi
DP="$TARGET/$PROFILE/dataplane"
DPCTL="$TARGET/$PROFILE/dpctl"

TAG="dpe$$"
NS_NODE="$TAG-node"; NS_A="$TAG-poda"; NS_B="$TAG-podb"; NS_H="$TAG-hostn"; NS_X="$TAG-ext"
ALL_NS=("$NS_NODE" "$NS_A" "$NS_B" "$NS_H" "$NS_X")
WORK=$(mktemp -d /tmp/dataplane-e2e.XXXXXX)
SOCK="$WORK/cli.sock"
DP_PID=""

log() { printf '%s e2e: %s\n' "$(date +%T)" "$*"; }

cleanup() {
    local rc=$?
    set +e
    if [ -n "$DP_PID" ] && kill -0 "$DP_PID" 2>/dev/null; then
        kill -TERM "$DP_PID"
        for _ in $(seq 50); do kill -0 "$DP_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DP_PID" 2>/dev/null
    fi
    for ns in "${ALL_NS[@]}"; do
        # Every process left in the namespace (http servers, iperf3) goes with it.
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    if [ $rc -ne 0 ]; then
        log "FAILED (exit $rc); daemon log:"
        sed 's/^/    /' "$WORK/dataplane.log" 2>/dev/null | tail -40
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { log "FAIL: $*"; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
dpctl() { "$DPCTL" -s "$SOCK" "$@"; }

# --- namespaces -------------------------------------------------------------------------------
for ns in "${ALL_NS[@]}"; do
    ip netns add "$ns"
    # IPv6 off: no router solicitations or MLD reports in the traces.
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    in_ns "$ns" ip link set lo up
done
# The uplink: a veth whose node end the daemon opens (AF_PACKET, AF_XDP or DPDK). Offloads stay
# as the kernel sets them: the external end sends partial TCP/UDP checksums, which the driver
# must finish (AF_PACKET's TP_STATUS_CSUMNOTREADY; AF_XDP, which cannot say, by recognising them).
ip link add up0 netns "$NS_NODE" type veth peer name ext0 netns "$NS_X"
in_ns "$NS_NODE" ip link set up0 up
in_ns "$NS_X" ip addr add 10.176.16.1/20 dev ext0
in_ns "$NS_X" ip link set ext0 up

# --- the daemon -------------------------------------------------------------------------------
sed -e "s/@POD_A_NS@/$NS_A/; s/@POD_B_NS@/$NS_B/; s/@HOST_NS@/$NS_H/; s/@TAP_FLAGS@/$TAP_FLAGS/" \
    -e "s|@UPLINK_CREATE@|$UPLINK_CREATE|; s|@UPLINK@|$UPLINK|g" ci/e2e/setup.cli >"$WORK/setup.cli"
cat >"$WORK/startup.conf" <<EOF
unix { nodaemon cli-listen $SOCK log $WORK/dataplane.log exec $WORK/setup.cli }
buffers { buffers-per-numa 16384 }
$DPDK_SECTION
EOF
log "starting the daemon in $NS_NODE (uplink $UPLINK over $UPLINK_KIND)"
ip netns exec "$NS_NODE" "$DP" -c "$WORK/startup.conf" >"$WORK/daemon.out" 2>&1 &
DP_PID=$!
for _ in $(seq 100); do
    [ -S "$SOCK" ] && dpctl show interface >/dev/null 2>&1 && break
    kill -0 "$DP_PID" 2>/dev/null || { cat "$WORK/daemon.out"; fail "the daemon exited"; }
    sleep 0.1
done
dpctl show interface >/dev/null || fail "the daemon does not answer on $SOCK"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "the CLI socket is not mode 0600"

# Pod B's servers: 8080 (allowed by policy), 9090 (denied). They log the client address.
mkdir -p "$WORK/www"
echo "hello from pod B" >"$WORK/www/index.html"
# A plain TCPServer: http.server's HTTPServer resolves its own name at bind, which in a namespace
# without DNS waits for resolver timeouts.
SERVE='import functools, http.server, socketserver, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
socketserver.TCPServer.allow_reuse_address = True
socketserver.TCPServer(("10.1.2.2", int(sys.argv[1])), h).serve_forever()'
in_ns "$NS_B" python3 -u -c "$SERVE" 8080 "$WORK/www" >"$WORK/http8080.log" 2>&1 &
in_ns "$NS_B" python3 -u -c "$SERVE" 9090 "$WORK/www" >"$WORK/http9090.log" 2>&1 &
for i in $(seq 50); do
    in_ns "$NS_B" python3 -c 'import socket; socket.create_connection(("10.1.2.2", 8080), 1)' \
        2>>"$WORK/ready.err" && break
    sleep 0.1
done
[ "$i" -lt 50 ] || fail "pod B's server did not start: $(tail -1 "$WORK/ready.err")"

get() { # ns url -> body on stdout
    local ns=$1 url=$2
    in_ns "$ns" curl -sS --max-time 5 --noproxy '*' "$url"
}

# --- traffic ----------------------------------------------------------------------------------
log "pod A -> ClusterIP 10.96.0.10:80"
dpctl clear trace >/dev/null
dpctl trace add virtio-input 20 >/dev/null
body=$(get "$NS_A" http://10.96.0.10/) || fail "curl from pod A to the ClusterIP failed"
[ "$body" = "hello from pod B" ] || fail "pod A got '$body' from the ClusterIP"
grep -q '^10.1.1.2 ' "$WORK/http8080.log" || fail "pod B did not see pod A's own address"

trace=$(dpctl show trace)
python3 - "$trace" <<'EOF' || fail "no traced packet goes from virtio-input to tap2-output"
import re, sys
packets = re.split(r"\nPacket \d+\n", sys.argv[1])
for p in packets:
    nodes = re.findall(r"^\d\d:\d\d:\d\d:\d+: (\S+)", p, re.M)
    if nodes and nodes[0] == "virtio-input" and nodes[-1] == "tap2-output" \
            and "nat44-out2in" in nodes and "acl-plugin-out-ip4-fa" in nodes:
        print("    " + " -> ".join(nodes))
        sys.exit(0)
sys.exit(1)
EOF

log "ext -> NodePort 10.176.25.244:30232"
body=$(get "$NS_X" http://10.176.25.244:30232/) || fail "curl from ext to the NodePort failed"
[ "$body" = "hello from pod B" ] || fail "ext got '$body' from the NodePort"
grep -q '^10.1.2.1 ' "$WORK/http8080.log" \
    || fail "pod B did not see the gateway 10.1.2.1 as the NodePort client (no SNAT)"

log "host -> pod B 10.1.2.2:8080"
body=$(get "$NS_H" http://10.1.2.2:8080/) || fail "curl from the host to pod B failed"
[ "$body" = "hello from pod B" ] || fail "the host got '$body' from pod B"

log "pod A -> pod B, 3000-byte pings (fragmented: shallow reassembly in front of NAT44 and ACLs)"
in_ns "$NS_A" python3 - 10.1.2.2 <<'PY' || fail "fragmented pings from pod A to pod B got no answer"
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return (~t) & 0xffff
ok = 0
for seq in range(3):
    body = struct.pack("!BBHHH", 8, 0, 0, 0x4244, seq) + bytes(range(256)) * 12
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    s.sendto(body, (sys.argv[1], 0))
    try:
        while True:
            pkt, addr = s.recvfrom(65535)
            ihl = (pkt[0] & 15) * 4
            if pkt[ihl] == 0 and addr[0] == sys.argv[1] and len(pkt) - ihl == len(body):
                ok += 1
                break
    except socket.timeout:
        pass
sys.exit(0 if ok == 3 else 1)
PY
dpctl show errors | grep -q "ip4-sv-reassembly-feature.*fragments received" \
    || fail "the fragments did not go through the shallow reassembly"

log "pod A -> pod B:9090 (denied by the egress policy)"
before=$(dpctl show errors | awk '/acl-plugin-out-ip4-fa/ && /ACL deny/ {n+=$1} END {print n+0}')
if in_ns "$NS_A" curl -sS --max-time 2 --noproxy '*' http://10.1.2.2:9090/ >/dev/null 2>&1; then
    fail "pod A reached pod B:9090, which the policy denies"
fi
after=$(dpctl show errors | awk '/acl-plugin-out-ip4-fa/ && /ACL deny/ {n+=$1} END {print n+0}')
[ "$after" -gt "$before" ] || fail "the denied connection is not counted in show errors ($before -> $after)"
! grep -q "GET " "$WORK/http9090.log" || fail "pod B's 9090 server saw a request"
log "    ACL deny packets: $before -> $after"

dpctl show nat44 sessions >/dev/null || fail "show nat44 sessions"
dpctl show errors | sed "s/^/    /"

if [ "$IPERF" -gt 0 ]; then
    # TCP, or with --udp full-rate UDP datagrams of that size (packets per second).
    IPERF_ARGS=(-t "$IPERF" -P "$STREAMS" -f m)
    [ "$UDP_LEN" -gt 0 ] && IPERF_ARGS+=(-u -l "$UDP_LEN" -b 0)
    what=$([ "$UDP_LEN" -gt 0 ] && echo "UDP ${UDP_LEN}-byte datagrams" || echo TCP)
    log "iperf3 pod A -> pod B through the dataplane ($PROFILE build), ${IPERF}s, $STREAMS stream(s), $what, taps:${TAP_FLAGS:- no flags}"
    in_ns "$NS_B" iperf3 -s -B 10.1.2.2 -p 5201 -1 >/dev/null 2>&1 &
    sleep 0.5
    dpctl set acl-plugin acl index 1 permit src 0.0.0.0/0 dst 10.1.2.2/32 proto 6 dport 8080 , permit src 0.0.0.0/0 dst 10.1.2.2/32 proto 6 dport 5201 , permit src 0.0.0.0/0 dst 10.1.2.2/32 proto 17 dport 5201 , permit src 0.0.0.0/0 dst 0.0.0.0/0 proto 1 >/dev/null
    # The forwarder's CPU time (user + system, clock ticks) over the run.
    cpu_ticks() { awk '{print $14 + $15}' "/proc/$DP_PID/stat"; }
    c0=$(cpu_ticks); t0=$(date +%s.%N)
    in_ns "$NS_A" iperf3 -c 10.1.2.2 -p 5201 "${IPERF_ARGS[@]}" >"$WORK/iperf.txt"
    c1=$(cpu_ticks); t1=$(date +%s.%N)
    tail -4 "$WORK/iperf.txt"
    python3 - "$c0" "$c1" "$t0" "$t1" "$(getconf CLK_TCK)" "$UDP_LEN" "$IPERF" "$WORK/iperf.txt" <<'PYEOF'
import re, sys
c0, c1, t0, t1, hz, udp, secs = map(float, sys.argv[1:8])
text = open(sys.argv[8]).read()
cpu = (c1 - c0) / hz
share = cpu / (t1 - t0)
if udp:
    # Receiver line: ... Mbits/sec  jitter ms  lost/total (pct%)  receiver
    m = re.findall(r"(\d+)/(\d+) \([^)]*\)\s+receiver", text)
    lost, total = map(int, m[-1]) if m else (0, 0)
    pps = (total - lost) / secs
    per = pps / share if share > 0 else 0
    print(f"    received {pps / 1e3:.0f} kpps ({lost} of {total} lost); forwarder CPU {cpu:.1f} s in {t1 - t0:.1f} s ({100 * share:.0f}% of one core): {per / 1e3:.0f} kpps per core")
else:
    m = re.findall(r"([\d.]+) Mbits/sec\s+receiver", text)
    rate = float(m[-1]) if m else 0
    per = rate / 1000 / share if share > 0 else 0
    print(f"    forwarder CPU {cpu:.1f} s in {t1 - t0:.1f} s ({100 * share:.0f}% of one core): {per:.2f} Gbit/s per core")
PYEOF
    # The kernel's own forwarding between the same kind of namespaces: pod A' -veth- router -veth- pod B'.
    KA="$TAG-ka"; KR="$TAG-kr"; KB="$TAG-kb"
    ALL_NS+=("$KA" "$KR" "$KB")
    for ns in "$KA" "$KR" "$KB"; do ip netns add "$ns"; in_ns "$ns" ip link set lo up; done
    ip link add a0 netns "$KA" type veth peer name ra netns "$KR"
    ip link add b0 netns "$KB" type veth peer name rb netns "$KR"
    in_ns "$KA" ip addr add 10.1.1.2/24 dev a0; in_ns "$KA" ip link set a0 up
    in_ns "$KB" ip addr add 10.1.2.2/24 dev b0; in_ns "$KB" ip link set b0 up
    in_ns "$KR" ip addr add 10.1.1.1/24 dev ra; in_ns "$KR" ip link set ra up
    in_ns "$KR" ip addr add 10.1.2.1/24 dev rb; in_ns "$KR" ip link set rb up
    in_ns "$KR" sysctl -qw net.ipv4.ip_forward=1
    in_ns "$KA" ip route add default via 10.1.1.1
    in_ns "$KB" ip route add default via 10.1.2.1
    in_ns "$KB" iperf3 -s -B 10.1.2.2 -p 5201 -1 >/dev/null 2>&1 &
    sleep 0.5
    log "iperf3 through the kernel (veth, ip_forward), ${IPERF}s, $STREAMS stream(s), $what"
    in_ns "$KA" iperf3 -c 10.1.2.2 -p 5201 "${IPERF_ARGS[@]}" | tail -4
fi

log "stopping the daemon (SIGTERM)"
kill -TERM "$DP_PID"
for _ in $(seq 50); do kill -0 "$DP_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DP_PID" 2>/dev/null; then fail "the daemon ignored SIGTERM"; fi
wait "$DP_PID" || fail "the daemon exited with an error: $(tail -3 "$WORK/daemon.out")"
DP_PID=""
[ ! -e "$SOCK" ] || fail "the CLI socket was left behind"
in_ns "$NS_A" ip link show dev eth0 >/dev/null 2>&1 && fail "tap1 was left in pod A"
log "passed in $(( $(date +%s) - T0 ))s"
