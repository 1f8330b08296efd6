#!/usr/bin/env bash
# Writes a CLI script adding N extra NAT44 static mappings (to run after natacl.cli), so that
# `dataplane bench --config natacl.cli --config FILE` measures the service path with N mappings:
#     ci/bench/nat-mappings.sh 100000 > /tmp/m100k.cli
# External 10.200.0.0/15 port 80 -> local 10.30.0.0/15 port 8080 (up to 131072) (none matches the bench flows).
set -euo pipefail
n=${1:?usage: nat-mappings.sh N}
python3 - "$n" <<'PY'
import sys
n = int(sys.argv[1])
print("comment { %d extra static mappings }" % n)
for i in range(n):
    h, a, b = i >> 16, (i >> 8) & 0xff, i & 0xff
    print(f"nat44 add static mapping tcp local 10.{30 + h}.{a}.{b} 8080 external 10.{200 + h}.{a}.{b} 80")
PY
