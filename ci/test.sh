#!/usr/bin/env bash
# Runs every test of the project from a clean checkout. Installs what it needs first.
# Usage: ci/test.sh            (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# --- tools -------------------------------------------------------------------------------------
# The Rust toolchain (with rustfmt and clippy) and gcc come with the machine.
if ! rustup component list --installed 2>/dev/null | grep -q '^clippy'; then
    rustup component add clippy rustfmt
fi

# Debian packages: DPDK 22.11 (headers, and the PMD plugins EAL loads at run time), libxdp/libbpf
# for AF_XDP, libclang for dpdk-sys's bindgen, and what the namespace tests run (tshark decodes
# the two-node underlay; socat and nc talk to the CLI socket as VPP users do).
DEB_PACKAGES=(libdpdk-dev dpdk libxdp-dev libbpf-dev xdp-tools clang libclang-dev pkg-config
              iproute2 ethtool python3 curl tshark g++ iperf3 iputils-ping socat netcat-openbsd)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# cargo-fuzz (libFuzzer; stable toolchain with `-s none`, libFuzzer's C++ built with g++).
if ! command -v cargo-fuzz >/dev/null; then
    log "cargo install cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# --- checks ------------------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

log "cargo clippy --features dpdk (warnings are errors)"
cargo clippy -p dataplane -p dataplane-engine --all-targets \
    --features dataplane/dpdk,dataplane-engine/dpdk -- -D warnings

log "cargo test (unit, integration, documented trace replays, AF_XDP in namespaces)"
cargo test --workspace

log "cargo test --features dpdk (DPDK ports on af_packet and pcap vdevs, in namespaces)"
cargo test -p dataplane --features dpdk --test live_dpdk --test live_af_xdp

log "end-to-end: the daemon as a node forwarder, pods and an external client in namespaces"
ci/e2e.sh --uplink af_packet
log "end-to-end, the uplink over AF_XDP, the taps with gso and gro-coalesce"
ci/e2e.sh --uplink af_xdp --tap gro-coalesce
log "end-to-end, the uplink over DPDK (net_af_packet PMD)"
ci/e2e.sh --uplink dpdk
log "end-to-end, two nodes over VXLAN (Contiv: BVI + bridge domain), NAT44 and policy"
ci/e2e.sh --two-node vxlan
log "end-to-end, two nodes over Geneve (Antrea: L3 mode), NAT44 and policy"
ci/e2e.sh --two-node geneve

log "soak: 60 s of traffic and churn (ci/soak.sh)"
ci/soak.sh 60

log "fuzz: every target for 30 s (ci/fuzz.sh)"
ci/fuzz.sh 30

log "all tests passed"
