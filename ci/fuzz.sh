#!/usr/bin/env bash
# Run every fuzz target (fuzz/fuzz_targets) for SECONDS each, on the stable toolchain
# (cargo-fuzz with `-s none`: libFuzzer's coverage-guided search; panics and aborts are found,
# memory errors in unsafe code are not, as that needs nightly's AddressSanitizer).
# New inputs go to a scratch corpus; the committed one (fuzz/corpus/TARGET) is only read.
# A crash stops the run, prints the input's path and exits 1; copy it into
# fuzz/regressions/TARGET/ (named after what it found) so that `cargo test` keeps replaying it.
#
# Usage: ci/fuzz.sh [SECONDS] [TARGET...]     (needs g++ and `cargo install cargo-fuzz`)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-30}"
shift || true
command -v cargo-fuzz >/dev/null || { echo "fuzz: needs cargo-fuzz (cargo install cargo-fuzz --locked)" >&2; exit 1; }
cargo fuzz build -s none >/dev/null
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(cargo fuzz list)
SCRATCH="${FUZZ_SCRATCH:-$(mktemp -d /tmp/dataplane-fuzz.XXXXXX)}"
for t in "${TARGETS[@]}"; do
    mkdir -p "$SCRATCH/$t" fuzz/corpus/"$t"
    printf '==> fuzz %s for %ss\n' "$t" "$SECS"
    if ! cargo fuzz run -s none "$t" "$SCRATCH/$t" fuzz/corpus/"$t" -- \
        -max_total_time="$SECS" -print_final_stats=1 -timeout=20 -rss_limit_mb=4096 \
        >"$SCRATCH/$t.log" 2>&1; then
        tail -40 "$SCRATCH/$t.log"
        echo "fuzz: $t failed; the input is under fuzz/artifacts/$t/" >&2
        exit 1
    fi
    grep -E "stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb" "$SCRATCH/$t.log" \
        | sed "s/^/    /"
done
[ -n "${FUZZ_SCRATCH:-}" ] || rm -rf "$SCRATCH"
