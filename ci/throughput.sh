#!/usr/bin/env bash
# Forwarding throughput: the same topology and the same generator for every forwarder.
#
#   tp-src (trafgen, CPU 0)          tp-fwd (forwarder)             tp-dst (counts)
#   src0 10.100.1.2 ---- veth ---- fwd0 [ forwarder ] fwd1 ---- veth ---- dst0 10.100.2.2
#
# The sender sends 60-byte UDP frames (64 on the wire) to the service address 10.100.3.100:5000
# from 256 source ports, as fast as one core can (trafgen, pinned to CPU 0); its socket is
# flow-controlled by the frames in flight, so it settles at what the path forwards. The receiver
# counts frames on dst0 (and drops them in its raw table, so nothing answers).
#
# CPU placement, each forwarder as it runs best on two cores: the kernel forwards in the receive
# softirq, which RPS moves to CPU 1; the userspace forwarders poll on CPU 1 (pinned), while their
# kernel receive half (XDP on the veth, or AF_PACKET) runs in the sender's softirq on CPU 0, where
# a NIC's DMA would be on real hardware. So the table shows both CPUs and the machine's CPU time
# per forwarded packet (sender included, the same generator for all), next to the packet rate.
#
# Forwarders:
#   kernel-nft-dnat   Linux forwarding with an nftables DNAT of 10.100.3.100 to 10.100.2.2
#   kernel-fwd        Linux forwarding, no nftables (a reference)
#   ovs-afxdp         Open vSwitch userspace (netdev datapath, afxdp ports, PMD on CPU 1),
#                     OpenFlow ct(nat) DNAT + MAC rewrite + dec_ttl
#   dataplane-afxdp   us: AF_XDP interfaces (native XDP on the veths), NAT44 static mapping
#                     (DNAT of the service to 10.100.2.2, a session per flow, as the kernel's nft
#                     rule and OVS's ct(nat)), static neighbours; dataplane-afxdp-skb: the same
#                     in generic XDP mode
#   dataplane-dpdk    us: DPDK net_af_packet vdevs (EAL --no-huge), same configuration
#
# Usage: ci/throughput.sh [SECONDS] [forwarder...]     (as root; default 10 s, all forwarders)
#        ROUNDS=N (default 3): the forwarders are measured in turn N times; each row is the round
#        with the highest rate (other load on the machine only ever lowers a rate).
# Prints one table row per forwarder. Numbers move with whatever else runs on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-10}
ROUNDS=${ROUNDS:-3}
shift || true
FORWARDERS=("$@")
[ ${#FORWARDERS[@]} -gt 0 ] || FORWARDERS=(kernel-nft-dnat kernel-fwd ovs-afxdp dataplane-afxdp dataplane-dpdk)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
FWD_BIN="$CARGO_TARGET_DIR/release/examples/live_forward"
WORK=$(mktemp -d /tmp/dp-throughput.XXXXXX)
NS_SRC=tp-src NS_FWD=tp-fwd NS_DST=tp-dst
VIP=10.100.3.100
FWD_PID=""

log() { printf '==> %s\n' "$*" >&2; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

need() {
    local missing=()
    for c in trafgen nft ethtool taskset; do command -v $c >/dev/null || missing+=("$c"); done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing netsniff-ng nftables ethtool util-linux"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq netsniff-ng nftables ethtool util-linux >/dev/null
    fi
}

# Stop a process and its children (trafgen's worker ignores the signals its parent gets).
stop_pid() {
    local pid=$1
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

teardown() {
    if [ -n "$FWD_PID" ]; then stop_pid "$FWD_PID"; fi
    FWD_PID=""
    ovs_stop
    for ns in $NS_SRC $NS_FWD $NS_DST; do ip netns del $ns 2>/dev/null || true; done
}
WMEM_SAVED=""
cleanup() {
    teardown
    [ -n "$WMEM_SAVED" ] && sysctl -qw net.core.wmem_default="$WMEM_SAVED"
    rm -rf "$WORK"
}
trap cleanup EXIT

topology() {
    teardown
    for ns in $NS_SRC $NS_FWD $NS_DST; do ip netns add $ns; in_ns $ns ip link set lo up; done
    ip link add src0 netns $NS_SRC type veth peer name fwd0 netns $NS_FWD
    ip link add fwd1 netns $NS_FWD type veth peer name dst0 netns $NS_DST
    in_ns $NS_SRC ip link set src0 up
    in_ns $NS_SRC ip addr add 10.100.1.2/24 dev src0
    in_ns $NS_DST ip link set dst0 up
    in_ns $NS_DST ip addr add 10.100.2.2/24 dev dst0
    in_ns $NS_FWD ip link set fwd0 up
    in_ns $NS_FWD ip link set fwd1 up
    # The receiver drops the frames before any socket lookup (no ICMP back).
    in_ns $NS_DST nft -f - <<'EOF'
table ip raw {
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    udp dport 5000 counter drop
  }
}
EOF
    FWD0_MAC=$(in_ns $NS_FWD cat /sys/class/net/fwd0/address)
    FWD1_MAC=$(in_ns $NS_FWD cat /sys/class/net/fwd1/address)
    SRC0_MAC=$(in_ns $NS_SRC cat /sys/class/net/src0/address)
    DST0_MAC=$(in_ns $NS_DST cat /sys/class/net/dst0/address)
    cat >"$WORK/trafgen.cfg" <<EOF
{
  eth(da=$FWD0_MAC, sa=$SRC0_MAC, type=0x0800),
  ipv4(sa=10.100.1.2, da=$VIP, ttl=64),
  udp(sp=dinc(1024, 1279), dp=5000),
  fill(0x41, 18),
}
EOF
}

kernel_fwd() {
    local nat=$1
    in_ns $NS_FWD sysctl -qw net.ipv4.ip_forward=1
    in_ns $NS_FWD ip addr add 10.100.1.1/24 dev fwd0
    in_ns $NS_FWD ip addr add 10.100.2.1/24 dev fwd1
    in_ns $NS_FWD ip neigh replace 10.100.2.2 lladdr "$DST0_MAC" dev fwd1 nud permanent
    in_ns $NS_FWD ip neigh replace 10.100.1.2 lladdr "$SRC0_MAC" dev fwd0 nud permanent
    # The kernel forwards in the receive softirq: RPS runs it on CPU 1 (without it, it would run in
    # the sender's softirq on CPU 0).
    in_ns $NS_FWD sh -c 'echo 2 > /sys/class/net/fwd0/queues/rx-0/rps_cpus'
    if [ "$nat" = nat ]; then
        in_ns $NS_FWD nft -f - <<EOF
table ip nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP udp dport 5000 dnat to 10.100.2.2
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
  }
}
EOF
    else
        in_ns $NS_FWD ip route add $VIP/32 via 10.100.2.2 dev fwd1
    fi
}

dataplane_fwd() {
    local driver=$1 xdp_mode=${2:-native}
    cat >"$WORK/fwd.cli" <<EOF
set interface state if0 up
set interface state if1 up
set interface ip address if0 10.100.1.1/24
set interface ip address if1 10.100.2.1/24
set ip neighbor if1 10.100.2.2 $DST0_MAC
set ip neighbor if0 10.100.1.2 $SRC0_MAC
nat44 add static mapping udp local 10.100.2.2 5000 external $VIP 5000
set interface nat44 in if1 out if0
EOF
    # Offloads off: the forwarder sees and sends plain frames.
    for i in fwd0 fwd1; do in_ns $NS_FWD ethtool -K $i tx off gro off >/dev/null 2>&1 || true; done
    ip netns exec $NS_FWD taskset -c 1 "$FWD_BIN" --driver "$driver" --if fwd0 --if fwd1 \
        --exec "$WORK/fwd.cli" --xdp-mode "$xdp_mode" >"$WORK/fwd.out" 2>&1 &
    FWD_PID=$!
    for _ in $(seq 50); do
        grep -q "forwarding on" "$WORK/fwd.out" 2>/dev/null && return 0
        kill -0 $FWD_PID 2>/dev/null || break
        sleep 0.2
    done
    log "forwarder did not start:"; cat "$WORK/fwd.out" >&2; return 1
}

OVS_T=""
ovs_stop() {
    [ -n "$OVS_T" ] || return 0
    for p in ovs-vswitchd ovsdb-server; do
        [ -f "$OVS_T/$p.pid" ] && kill "$(cat "$OVS_T/$p.pid")" 2>/dev/null || true
    done
    sleep 0.5
    OVS_T=""
}

ovs_fwd() {
    command -v ovs-vswitchd >/dev/null || {
        log "installing openvswitch-switch"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openvswitch-switch >/dev/null
    }
    OVS_T="$WORK/ovs"
    mkdir -p "$OVS_T"
    # A private OVS instance (own database, sockets and logs) in the forwarder namespace.
    export OVS_RUNDIR=$OVS_T OVS_LOGDIR=$OVS_T OVS_DBDIR=$OVS_T OVS_SYSCONFDIR=$OVS_T
    ovsdb-tool create "$OVS_T/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server "$OVS_T/conf.db" --remote=punix:"$OVS_T/db.sock" --pidfile="$OVS_T/ovsdb-server.pid" \
        --detach --no-chdir --log-file="$OVS_T/ovsdb-server.log"
    local vsctl="ovs-vsctl --db=unix:$OVS_T/db.sock"
    $vsctl --no-wait init
    $vsctl --no-wait set Open_vSwitch . other_config:pmd-cpu-mask=0x2
    in_ns $NS_FWD ovs-vswitchd unix:"$OVS_T/db.sock" --pidfile="$OVS_T/ovs-vswitchd.pid" --detach \
        --no-chdir --log-file="$OVS_T/ovs-vswitchd.log"
    $vsctl add-br br0 -- set bridge br0 datapath_type=netdev
    $vsctl add-port br0 fwd0 -- set interface fwd0 type=afxdp ofport_request=1
    $vsctl add-port br0 fwd1 -- set interface fwd1 type=afxdp ofport_request=2
    local of="ovs-ofctl"
    $of del-flows br0
    $of add-flow br0 "table=0,priority=100,ip,in_port=1,nw_dst=$VIP,actions=ct(commit,zone=1,nat(dst=10.100.2.2),table=1)"
    $of add-flow br0 "table=0,priority=0,actions=drop"
    $of add-flow br0 "table=1,priority=100,ip,actions=mod_dl_src:$FWD1_MAC,mod_dl_dst:$DST0_MAC,dec_ttl,output:2"
    sleep 1
    if ! $vsctl get interface fwd0 ofport | grep -qv -- -1; then
        log "OVS could not add the afxdp ports:"; grep -i "afxdp\|xdp\|error" "$OVS_T/ovs-vswitchd.log" | tail -5 >&2
        return 1
    fi
    FWD_PID=$(cat "$OVS_T/ovs-vswitchd.pid")
}

cpu_sample() { awk '/^cpu[01] /{b=$2+$3+$4+$7+$8+$9; t=b+$5+$6; print $1, b, t, $8}' /proc/stat; }
proc_cpu() { if [ -n "${1:-}" ]; then awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; else echo 0; fi; }
rx_count() { in_ns $NS_DST cat /sys/class/net/dst0/statistics/rx_packets; }
tx_count() { in_ns $NS_SRC cat /sys/class/net/src0/statistics/tx_packets; }

# One run at an offered rate (pps; 0: as fast as the sender can). Sets RESULT to
# "rx_pps sent_pps cpu0% cpu0_softirq% cpu1% cpu1_softirq% forwarder_process%".
RESULT=""
run_at() {
    local rate=$1 secs=$2 rate_arg=()
    [ "$rate" -gt 0 ] && rate_arg=(-b "${rate}pps")
    ip netns exec $NS_SRC taskset -c 0 trafgen --dev src0 --conf "$WORK/trafgen.cfg" --cpus 1 -C \
        "${rate_arg[@]}" >"$WORK/trafgen.log" 2>&1 &
    local gen=$!
    sleep 1
    local rx0 tx0 p0 c0 t0 rx1 tx1 p1 c1 t1
    rx0=$(rx_count); tx0=$(tx_count); p0=$(proc_cpu "$FWD_PID"); c0=$(cpu_sample); t0=$(date +%s.%N)
    sleep "$secs"
    rx1=$(rx_count); tx1=$(tx_count); p1=$(proc_cpu "$FWD_PID"); c1=$(cpu_sample); t1=$(date +%s.%N)
    if ! kill -0 $gen 2>/dev/null; then
        log "trafgen stopped early:"; tail -5 "$WORK/trafgen.log" >&2
    fi
    stop_pid $gen
    sleep 0.5
    RESULT=$(python3 - "$rx0" "$rx1" "$tx0" "$tx1" "$t0" "$t1" "$p0" "$p1" "$(getconf CLK_TCK)" "$c0" "$c1" <<'EOF'
import sys
rx0, rx1, tx0, tx1, t0, t1, p0, p1, hz = sys.argv[1:10]
dt = float(t1) - float(t0)
c0 = {l.split()[0]: list(map(int, l.split()[1:])) for l in sys.argv[10].splitlines()}
c1 = {l.split()[0]: list(map(int, l.split()[1:])) for l in sys.argv[11].splitlines()}
def busy(cpu):
    b = c1[cpu][0] - c0[cpu][0]; t = c1[cpu][1] - c0[cpu][1]; s = c1[cpu][2] - c0[cpu][2]
    return 100.0 * b / max(t, 1), 100.0 * s / max(t, 1)
b0, s0 = busy("cpu0"); b1, s1 = busy("cpu1")
proc = 100.0 * (int(p1) - int(p0)) / int(hz) / dt
print(f"{(int(rx1) - int(rx0)) / dt:.0f} {(int(tx1) - int(tx0)) / dt:.0f} {b0:.0f} {s0:.0f} {b1:.0f} {s1:.0f} {proc:.0f}")
EOF
)
}

# A saturated run (the sender's socket is flow-controlled by the frames in flight, so it settles
# at what the path forwards). Prints the table row: received pps, both CPUs, the forwarder
# process, and the CPU time of the whole machine per forwarded packet (sender included).
measure() {
    local name=$1
    run_at 0 "$DURATION"
    python3 - "$name" $RESULT <<'EOF'
import sys
name = sys.argv[1]
rx, sent, c0, s0, c1, s1, proc = map(float, sys.argv[2:9])
us = (c0 + c1) / 100.0 / max(rx, 1) * 1e6
print(f"| {name:<22} | {rx/1e3:7.0f} | {sent/1e3:7.0f} | {c0:4.0f}% ({s0:3.0f}% si) | {c1:4.0f}% ({s1:3.0f}% si) | {proc:5.0f}% | {us:6.2f} |")
EOF
}

run_one() {
    local f=$1
    topology
    case $f in
        kernel-nft-dnat) kernel_fwd nat ;;
        kernel-fwd) kernel_fwd plain ;;
        ovs-afxdp) ovs_fwd || { echo "| $f | OVS afxdp ports did not come up (see above) |"; return 0; } ;;
        dataplane-afxdp) dataplane_fwd af_xdp native ;;
        dataplane-afxdp-skb) dataplane_fwd af_xdp skb ;;
        dataplane-dpdk) dataplane_fwd dpdk ;;
        *) log "unknown forwarder $f"; return 1 ;;
    esac
    measure "$f"
    if [ -n "$FWD_PID" ] && [ -f "$WORK/fwd.out" ] && [ "${f#dataplane}" != "$f" ]; then
        stop_pid "$FWD_PID"
        FWD_PID=""
        [ -n "${TP_KEEP:-}" ] && cp "$WORK/fwd.out" "/tmp/throughput-$f.out"
    fi
    teardown
}

[ "$(id -u)" = 0 ] || { echo "throughput.sh: needs root (network namespaces)" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "throughput.sh: needs 2 CPUs" >&2; exit 1; }
need
# trafgen's TX_RING socket runs out of send buffer (EAGAIN, on which it stops) when the frames are
# processed on another CPU; it raises the defaults itself, but cannot from inside a namespace. For
# the run only (restored on exit).
WMEM_SAVED=$(sysctl -n net.core.wmem_default)
sysctl -qw net.core.wmem_default=8388608
if printf '%s\n' "${FORWARDERS[@]}" | grep -q '^dataplane'; then
    features=""
    printf '%s\n' "${FORWARDERS[@]}" | grep -q '^dataplane-dpdk' && features="--features dpdk"
    log "building the forwarder (release) $features"
    # shellcheck disable=SC2086
    cargo build --release -q -p dataplane $features --example live_forward
fi
log "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), ${DURATION}s per forwarder, 64-byte UDP, 256 flows"
for round in $(seq "$ROUNDS"); do
    for f in "${FORWARDERS[@]}"; do
        run_one "$f" >"$WORK/row"
        cat "$WORK/row" >>"$WORK/rows"
        sed "s/^/round $round: /" "$WORK/row" >&2
    done
done
log "best of $ROUNDS rounds (load now $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "| forwarder              | rx kpps | sent kpps | CPU 0 (sender)  | CPU 1 (forwarder) | fwd proc | CPU µs/pkt |"
echo "|------------------------|---------|---------|-----------------|-----------------|--------|--------|"
for f in "${FORWARDERS[@]}"; do
    grep -E "^\| $f +\|" "$WORK/rows" | sort -t'|' -k3,3nr | head -1 || true
done
