#!/usr/bin/env bash
# Writes a CLI script that replaces natacl.cli's two ACLs with N rules each (to run after
# natacl.cli), so that `dataplane bench --config natacl.cli --config FILE` measures the ACL nodes
# with N rules per ACL:
#     ci/bench/acl-rules.sh 10000 > /tmp/acl10k.cli
# N-1 rules the bench traffic misses come first, in the shapes NetworkPolicies render to (pod /32s,
# namespace /24s, port ranges, UDP and TCP, permit and deny), then natacl's own permit rule last, so
# a rule scan would have to visit every rule.
set -euo pipefail
n=${1:?usage: acl-rules.sh N}
python3 - "$n" <<'PY'
import sys
n = int(sys.argv[1])
if n < 1:
    sys.exit("acl-rules.sh: N must be at least 1")

def misses(dst, dport):
    rules = []
    for i in range(n - 1):
        a, b = (i >> 8) & 0xff, i & 0xff
        shape = i % 4
        if shape == 0:
            rules.append(f"deny src 172.16.{a}.{b}/32 dst {dst} proto 6 dport {dport}")
        elif shape == 1:
            rules.append(f"permit src 192.168.{a}.0/24 dst 10.96.{a}.{b}/32 proto 6 dport 1000-2000")
        elif shape == 2:
            rules.append(f"deny src 10.2.{a}.{b}/32 dst 0.0.0.0/0 proto 17 dport 53")
        else:
            rules.append(f"permit src 10.{3 + a}.{b}.0/24 dst {dst} proto 6 dport 9000-9100")
    return rules

print(f"comment {{ ACLs 0 and 1 with {n} rules each, the matching one last }}")
r0 = misses("10.104.221.85/32", 80) + ["permit src 10.1.1.0/24 dst 10.104.221.85/32 proto 6 dport 80"]
r1 = misses("10.20.0.2/32", 8080) + ["permit src 0.0.0.0/0 dst 10.20.0.2/32 proto 6 dport 8080"]
print("set acl-plugin acl index 0 " + " , ".join(r0))
print("set acl-plugin acl index 1 " + " , ".join(r1))
PY
