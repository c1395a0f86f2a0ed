#!/usr/bin/env bash
# Issue 13's paper-comparable efficacy protocol in one command (docs/results.md, "The paper-comparable protocol"):
# a protecting model trained longer on more images with n = 15 checkpoints, crafting at the paper's budget (T=30,
# n=15, M=15), and appropriators of three families trained to convergence with the paper's step schedule, every
# setting repeated with its own appropriator seed (the report shows mean ± sd; records carry `repeat`), and, with
# PROTECTOR_RUNS > 1, the whole chain for further protecting runs (train --seed SEED+k) pooled into one report
# (sep-shield report): the protecting run moves the appropriators' accuracy as much as the appropriator seed does.
#   bench/paper_protocol.sh OUT          the protocol: hours on a GPU, weeks on a 2-core CPU (see docs/results.md)
#   SMOKE=1 bench/paper_protocol.sh OUT  the same commands at toy size, a few minutes on a CPU: checks the chain
# Settings from the environment (defaults in brackets): IMAGES [20000] protected = protector's training images,
# PROTECTOR_EPOCHS [45], CHECKPOINTS [15], EPOCHS [40] appropriator epochs, REPEATS [3], EPS [8,4],
# METHODS [none,baseline,sep-fa-vr], ARCHS [resnet8,vgg11s,densenet-s], PROFILE [paper], SEED [0],
# PROTECTOR_RUNS [1]. A rerun with the same OUT keeps the bundles and the crafted sets (evaluate reuses sets whose
# settings match).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/paper_protocol.sh OUT}
if [ -n "${SMOKE:-}" ]; then
  : "${IMAGES:=200}" "${PROTECTOR_EPOCHS:=2}" "${CHECKPOINTS:=2}" "${EPOCHS:=2}" "${REPEATS:=2}" "${EPS:=8}"
  : "${ARCHS:=resnet8}" "${PROFILE:=fast}" "${TEST_LIMIT:=200}" "${PROTECTOR_RUNS:=2}"
fi
IMAGES=${IMAGES:-20000} PROTECTOR_EPOCHS=${PROTECTOR_EPOCHS:-45} CHECKPOINTS=${CHECKPOINTS:-15}
EPOCHS=${EPOCHS:-40} REPEATS=${REPEATS:-3} EPS=${EPS:-8,4} METHODS=${METHODS:-none,baseline,sep-fa-vr}
ARCHS=${ARCHS:-resnet8,vgg11s,densenet-s} PROFILE=${PROFILE:-paper} SEED=${SEED:-0} TEST_LIMIT=${TEST_LIMIT:-0}
PROTECTOR_RUNS=${PROTECTOR_RUNS:-1}
mkdir -p "$out"
echo "start $(date -u +%FT%TZ) IMAGES=$IMAGES PROTECTOR_EPOCHS=$PROTECTOR_EPOCHS CHECKPOINTS=$CHECKPOINTS" \
  "EPOCHS=$EPOCHS REPEATS=$REPEATS EPS=$EPS ARCHS=$ARCHS PROFILE=$PROFILE SEED=$SEED PROTECTOR_RUNS=$PROTECTOR_RUNS"

# Protecting run k (0-based): the retraining job's recipe (one-cycle), longer and on more images, n equidistant
# checkpoints, seed SEED+k; run 0 keeps the folder names of a single run. Every method at equal crafting compute,
# every ε, every family; appropriators as in the paper (step schedule). The evaluate --seed stays SEED, so later runs
# take the clean-trained models of run 0 (--clean-from) and differ from it only in the protecting model.
for ((k = 0; k < PROTECTOR_RUNS; k++)); do
  suffix=$([ "$k" -eq 0 ] && echo "" || echo "-run$((k + 1))")
  if [ ! -f "$out/bundles$suffix/LATEST" ]; then
    ./sep-shield train --data fashion-mnist:train --limit "$IMAGES" --test fashion-mnist:test --test-limit 2000 \
      --arch resnet8 --epochs "$PROTECTOR_EPOCHS" --checkpoints "$CHECKPOINTS" --seed "$((SEED + k))" \
      --out "$out/bundles$suffix"
  fi
  methods=$METHODS
  clean_from=()
  if [ "$k" -gt 0 ]; then
    methods=$(echo ",$METHODS," | sed 's/,none,/,/g; s/^,//; s/,$//')
    clean_from=(--clean-from "$out/evaluation/results.json")
  fi
  ./sep-shield evaluate --bundle "$out/bundles$suffix" --train fashion-mnist:train --train-limit "$IMAGES" \
    --test fashion-mnist:test --test-limit "$TEST_LIMIT" --profile "$PROFILE" --methods "$methods" --eps "$EPS" \
    --archs "$ARCHS" --epochs "$EPOCHS" --appropriator-schedule step --repeats "$REPEATS" --seed "$SEED" \
    "${clean_from[@]}" --out "$out/evaluation$suffix"
done
report=$out/evaluation/report.md
if [ "$PROTECTOR_RUNS" -gt 1 ]; then
  results=("$out/evaluation/results.json")
  for ((k = 1; k < PROTECTOR_RUNS; k++)); do results+=("$out/evaluation-run$((k + 1))/results.json"); done
  ./sep-shield report --out "$out/pooled" "${results[@]}"
  report=$out/pooled/report.md
fi
echo "end $(date -u +%FT%TZ); report: $report"
