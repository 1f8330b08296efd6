#!/usr/bin/env bash
# Writes ../shared/bench/natacl.cli with room for N NAT44 sessions instead of 65536 (the rest
# unchanged), for the session scale curve with flows1k/flows10k/flows100k/flows1m.pcap:
#     ci/bench/natacl-sessions.sh 1048576 > /tmp/natacl-1m.cli
# Runs unchanged on VPP (`vppctl exec /tmp/natacl-1m.cli`).
set -euo pipefail
n=${1:?usage: natacl-sessions.sh N}
here=$(cd "$(dirname "$0")" && pwd)
sed "s/^nat44 plugin enable sessions [0-9]*/nat44 plugin enable sessions $n/" \
    "$here/../../../shared/bench/natacl.cli"
