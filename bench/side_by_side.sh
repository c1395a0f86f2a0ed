#!/usr/bin/env bash
# Issue 12's eager comparison in one run: alternates one PyTorch-eager round (bench/eager_sep_fa_vr.py) and one
# engine round (./sep-shield bench, straightforward and production) per thread count, same DNNL_MAX_CPU_ISA for
# both (default SSE41, what .mvn/cpu-env.sh ships on VMs). Records are appended under runs/bench/eager-side-by-side/.
#   bench/side_by_side.sh ROUNDS THREADS...        e.g. bench/side_by_side.sh 3 1 2
#   DNNL_MAX_CPU_ISA=ALL bench/side_by_side.sh 2 2   (uncapped: not what ships on VMs)
# EAGER_VARIANTS (default straightforward,reuse) and COMPARE (default straightforward,production) shorten a run.
set -euo pipefail
cd "$(dirname "$0")/.."
export DNNL_MAX_CPU_ISA="${DNNL_MAX_CPU_ISA:-SSE41}"
rounds=$1; shift
out=runs/bench/eager-side-by-side; mkdir -p "$out"
echo "start $(date -u +%FT%TZ) DNNL_MAX_CPU_ISA=$DNNL_MAX_CPU_ISA $(uptime)"
for t in "$@"; do
  for r in $(seq "$rounds"); do
    OMP_NUM_THREADS=$t /usr/bin/python3 bench/eager_sep_fa_vr.py --threads "$t" --rounds 1 \
      --variants "${EAGER_VARIANTS:-straightforward,reuse}" --json "$out/eager-$DNNL_MAX_CPU_ISA.json" --session "${SESSION:-eager-side-by-side}"
    OMP_NUM_THREADS=$t JAVA_OPTS="-Dai.djl.pytorch.num_threads=$t" ./sep-shield bench --profile cpu --batch-size 64 \
      --batches 1 --rounds 1 --compare "${COMPARE:-straightforward,production}" --json "$out/engine-$DNNL_MAX_CPU_ISA.json" --append
  done
done
echo "end $(date -u +%FT%TZ) $(uptime)"
