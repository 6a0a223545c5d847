#!/usr/bin/env bash
# wsol_synth.sh — CDTR vs TS-CAM vs CAM on the WSOL synthetic task (issue 16, acceptance 3), one training seed per
# call, each method from the same pretrained small ViT (the demo's shape: patch 8 on 64 px, embed 96, depth 4,
# heads 3), one budget for all (epochs, batch 16, lr, flip), each method's own schedule and losses.
#
#   bench/wsol_synth.sh WSDOL DATA BACKBONE CLIP VOCAB OUT SEED [METHOD[:label[:extra settings]]...]
#
# DATA: `wsdol synth --layout wsol --size 64 ...`; BACKBONE: the demo's pretrained vit_classifier checkpoint; CLIP,
# VOCAB: the demo's small CLIP and its BPE vocabulary. Environment: EPOCHS (10), LR (5e-4). Each run trains with
# --threads 1 and infers on the test split; one line per run: label seed GT-known Top-1Loc MaxBoxAccV2 Top-1Cls
# CPU-seconds.
set -euo pipefail
WSDOL=$1 DATA=$2 BACKBONE=$3 CLIP=$4 VOCAB=$5 OUT=$6 SEED=$7
shift 7
EPOCHS=${EPOCHS:-10} LR=${LR:-5e-4}
export OMP_WAIT_POLICY=passive
VIT="--set image_size=64 --set patch_size=8 --set embed_dim=96 --set depth=4 --set num_heads=3"
COMMON="--epochs $EPOCHS --batch-size 16 --lr $LR --input-size 64 --augmentation flip --seed $SEED"
mkdir -p "$OUT"
for spec in "$@"; do
  IFS=: read -r method label extra <<< "$spec"
  label=${label:-$method}
  run="$OUT/$label-s$SEED"
  args=(train --method "$method" --data "$DATA" --out "$run" --backbone "$BACKBONE" --threads 1 --force)
  case $method in
    cam)   args+=(--set backbone=vit --warmup-epochs 1) ;;
    cdtr)  args+=(--warmup-epochs 1 --clip "$CLIP" --clip-vocab "$VOCAB") ;;
    tscam) ;;
  esac
  # shellcheck disable=SC2086
  /usr/bin/time -f "%U %S" -o "$run.time" "$WSDOL" "${args[@]}" $COMMON $VIT $extra > "$run.train.log" 2>&1
  rm -rf "$run-pred"
  "$WSDOL" infer --checkpoint "$run/checkpoint.safetensors" --data "$DATA" --split test --out "$run-pred" \
    --threads 1 --no-png --quiet > "$run.infer.log" 2>&1
  gt=$(sed -n 's/.*GT-known \([0-9.]*\),.*/\1/p' "$run.infer.log")
  t1=$(sed -n 's/.*GT-known [0-9.]*, Top-1 \([0-9.]*\),.*/\1/p' "$run.infer.log")
  mba=$(sed -n 's/^MaxBoxAccV2 \([0-9.]*\).*/\1/p' "$run.infer.log")
  cls=$(sed -n 's/^classification Top-1 \([0-9.]*\),.*/\1/p' "$run.infer.log")
  cpu=$(awk '{print $1 + $2}' "$run.time")
  echo "$label $SEED $gt $t1 $mba $cls $cpu"
done
