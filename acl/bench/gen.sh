#!/usr/bin/env bash
# Writes the ACL benchmark configurations into DIR (default: this folder's out/):
#   acl10.cli      stateless permit, 10 rules per direction (the matching rule last)
#   acl10k.cli     the same with 10 000 rules per direction
#   reflect10.cli  input ACL permit+reflect (sessions), 10 rules per direction
#   reflect10k.cli the same with 10 000 rules per direction
# They are ../shared/bench/plain.cli (pg0 -> pg1 IPv4 forwarding of the bench SYN to
# 10.104.221.85) plus natacl.cli's two ACLs, without NAT (so the output rule keeps the VIP).
# The extra rules have the shape of the matching one (one mask type), with other destinations.
#
# Run:  dataplane make-bench-pcaps DIR
#       dataplane bench -c DIR/acl10.cli --pcap DIR/syn.pcap --limit 20000000
set -euo pipefail
out=${1:-$(dirname "$0")/out}
mkdir -p "$out"

base() {
cat <<'CLI'
comment { ACL-only variant of natacl.cli: plain.cli forwarding + ACL in on pg0 and out on pg1 }
create packet-generator interface pg0
create packet-generator interface pg1
set interface mac address pg0 02:fe:16:3f:5f:0f
set interface mac address pg1 02:fe:25:4f:0e:4e
set interface ip address pg0 10.1.1.1/24
set interface ip address pg1 10.20.0.1/24
set interface state pg0 up
set interface state pg1 up
set ip neighbor pg1 10.20.0.2 02:00:00:00:00:20 static
ip route add 10.20.0.2/32 via 10.20.0.2 pg1
ip route add 10.104.221.85/32 via 10.20.0.2 pg1
CLI
}

# rules N ACTION SRC DST-BASE-OCTET MATCH-DST
rules() {
  local n=$1 action=$2 src=$3 base=$4 match=$5 i
  printf 'set acl-plugin acl'
  for ((i = 0; i < n - 1; i++)); do
    printf ' %s src %s dst 10.%d.%d.%d/32 proto 6 dport 80 ,' "$action" "$src" "$base" $((i / 256)) $((i % 256))
  done
  printf ' %s src %s dst %s proto 6 dport 80\n' "$action" "$src" "$match"
}

gen() {
  local file=$1 n=$2 inaction=$3
  {
    base
    rules "$n" "$inaction" 10.1.1.0/24 200 10.104.221.85/32
    rules "$n" permit 0.0.0.0/0 201 10.104.221.85/32
    echo "set acl-plugin interface pg0 input acl 0"
    echo "set acl-plugin interface pg1 output acl 1"
  } > "$out/$file"
}

gen acl10.cli 10 permit
gen acl10k.cli 10000 permit
gen reflect10.cli 10 permit+reflect
gen reflect10k.cli 10000 permit+reflect
echo "wrote acl10.cli acl10k.cli reflect10.cli reflect10k.cli in $out"
