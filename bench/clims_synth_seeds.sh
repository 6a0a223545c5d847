#!/bin/sh
# clims_synth_seeds.sh — CLIMS vs its stage-0 CAM on the synthetic benchmark over several seeds (issue 15,
# acceptance 2): the ImageNet stand-in once (a ResNet classifier, cam resnet_bn=normal, on an object-centric synth
# set: one object, background independent of the class, another seed), then per seed the chain
# tests/pipelines/clims_synth.json (cam -> cam_seeds -> clims -> seeds), then `wsdol eval --home-background` of both
# seed folders at eval_cam.py's threshold 0.15, and the table (bench/clims_synth_table.py).
#
#   DATA=SYNTH_DIR CLIP=CLIP_FILE VOCAB=BPE OUT=DIR [SEEDS="0 1 2"] [WIDTH=16] [SIZE=64] [CAM_EPOCHS=5]
#   [CLIMS_EPOCHS=15] [PRE_DATA=DIR | PRE_IMAGES=10000] [PRE_EPOCHS=2] [HEAD_WIDTH=64] [WSDOL=build/wsdol]
#   sh bench/clims_synth_seeds.sh
#
# One thread (--threads 1, OMP_WAIT_POLICY=passive); every run's own log in OUT.
set -eu
: "${DATA:?DATA=synth folder}" "${CLIP:?CLIP=clip file}" "${VOCAB:?VOCAB=bpe file}" "${OUT:?OUT=folder}"
SEEDS=${SEEDS:-"0 1 2"}
WIDTH=${WIDTH:-16}
SIZE=${SIZE:-64}
BATCH=${BATCH:-16}
CAM_EPOCHS=${CAM_EPOCHS:-5}
CLIMS_EPOCHS=${CLIMS_EPOCHS:-15}
PRE_IMAGES=${PRE_IMAGES:-10000}
PRE_EPOCHS=${PRE_EPOCHS:-2}
HEAD_WIDTH=${HEAD_WIDTH:-64}
WSDOL=${WSDOL:-build/wsdol}
HERE=$(dirname "$0")
export OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
CLASSES=$(($(wc -l < "$DATA/classes.txt") - 1))

# 1. the ImageNet stand-in (seed-independent, as one ImageNet checkpoint serves every seed of a real run): the demo's
#    pretraining set and recipe (apps/cmd_demo.cpp stage 2: 10,000 one-object images with class-independent
#    backgrounds, seed 1000; AdamW 1e-3, wd 0.05, cosine, 2 epochs of batch 32, flip) on the ResNet classifier
if [ ! -f "$OUT/pretrain/checkpoint.safetensors" ]; then
  if [ -z "${PRE_DATA:-}" ]; then
    PRE_DATA="$OUT/pretrain_data"
    "$WSDOL" synth --quiet --out "$PRE_DATA" --images "$PRE_IMAGES" --size "$SIZE" --classes "$CLASSES" \
      --seed 1000 --max-objects 1 --home-probability 0 --val-fraction 0.05
  fi
  /usr/bin/time -v "$WSDOL" train --method cam --set backbone=resnet50 --set width="$WIDTH" --set resnet_bn=normal \
    --data "$PRE_DATA" --out "$OUT/pretrain" --epochs "$PRE_EPOCHS" --batch-size 32 --optimizer adamw --lr 1e-3 \
    --weight-decay 0.05 --schedule cosine --warmup-epochs 0 --augmentation flip \
    --input-size "$SIZE" --threads 1 --quiet > "$OUT/pretrain.log" 2>&1
fi

# 2. the chain per seed, 3. the metrics of both seed folders
for s in $SEEDS; do
  /usr/bin/time -v "$WSDOL" pipeline "$HERE/../tests/pipelines/clims_synth.json" --out "$OUT/seed$s" --threads 1 \
    --var data="$DATA" --var clip="$CLIP" --var vocab="$VOCAB" --var head_width="$HEAD_WIDTH" \
    --var width="$WIDTH" --var input_size="$SIZE" --var batch_size="$BATCH" --var cam_epochs="$CAM_EPOCHS" \
    --var clims_epochs="$CLIMS_EPOCHS" --var seed="$s" \
    --var cam_backbone="$OUT/pretrain/checkpoint.safetensors" > "$OUT/seed$s.log" 2>&1
  # eval_cam.py's threshold 0.15 is the headline; the others show whether the ordering depends on it
  for stage in cam_seeds seeds; do
    for t in 0.05 0.10 0.15 0.20 0.30 0.40 0.50 0.70 0.90; do
      "$WSDOL" eval --task seg --json --home-background --data "$DATA" --pred "$OUT/seed$s/$stage" --pred-type npy \
        --list "$DATA/ImageSets/Segmentation/train.txt" --threshold "$t" > "$OUT/seed$s/${stage}_eval_$t.json"
    done
  done
done
python3 "$HERE/clims_synth_table.py" "$OUT" $SEEDS
