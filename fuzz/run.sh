#!/usr/bin/env bash
# Runs every fuzz target for a set time and prints execs per target.
#
#   fuzz/run.sh [seconds per target, default 60] [target …]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --version 0.13.1 --locked`). The toolchain is
# stable: RUSTC_BOOTSTRAP=1 lets it take libFuzzer's nightly flags. Rust here forbids
# `unsafe`, so the default is no sanitizer (2-3× the execs); FUZZ_SANITIZER=address for ASan.
# New inputs go to fuzz/corpus/<target> (not committed), seeded from fuzz/seeds/<target>;
# a crash lands in fuzz/artifacts/<target>/ and makes the script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")"
per_target="${1:-60}"
shift || true
export RUSTC_BOOTSTRAP=1
target_dir="${FUZZ_TARGET_DIR:-$PWD/target}"
sanitizer="${FUZZ_SANITIZER:-none}"
flags=(-O -a --sanitizer "$sanitizer" --codegen-units 16 --target-dir "$target_dir")
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build "${flags[@]}"
mkdir -p logs
failed=0
printf '%-20s %12s %12s %s\n' target execs execs/s result
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log="logs/$t.log"
  if cargo fuzz run "${flags[@]}" "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$per_target" -max_len=4096 -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see fuzz/$log, fuzz/artifacts/$t/)"
    failed=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  printf '%-20s %12s %12s %s\n' "$t" "$execs" "$rate" "$result"
done
exit "$failed"
