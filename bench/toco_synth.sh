#!/usr/bin/env bash
# toco_synth.sh — ToCo / DIAL on the synthetic benchmark, one (method, seed) per call (issue 14, acceptance 2).
#
#   bench/toco_synth.sh METHOD SEED OUT [DATA BACKBONE [CLIP VOCAB]]
#
# Reduced configuration (README "ToCo / DIAL results"): the demo's small ViT (64 px, patch 8, embed 96, depth 4,
# heads 3) from the shared pretrained backbone; ToCo's heads narrowed with the backbone (768 -> 96 = 1/8: decoder
# 64, CTC head 256 / 32 / 128; INFERRED); local crops 16 px (96 / 448 of the crop, rounded to 2 x 2 patches);
# batch 4 (ToCo's), 6 epochs of the 800 training images = 1,200 updates; the seg/reg switch at update 120 (ToCo:
# 2,000 of 20,000) and 1 warm-up epoch = 200 updates (ToCo: 1,500 of 20,000; the recipe counts whole epochs).
# Every other setting is the method's recipe. Then `wsdol infer` on val (segmentation = multi-scale + flip argmax,
# CAM seeds = multi-scale CAMs) and `wsdol eval` of the seeds at ToCo's background threshold 0.5.
# One thread, OMP_WAIT_POLICY=passive (the shared 2-core machine).
set -euo pipefail
METHOD=$1 SEED=$2 OUT=$3
DATA=${4:-/work/artifacts/data}
BACKBONE=${5:-/work/artifacts/pretrain/checkpoint.safetensors}
CLIP=${6:-} VOCAB=${7:-}
WSDOL=${WSDOL:-build/wsdol}
export OMP_WAIT_POLICY=passive
EXTRA=()
if [ "$METHOD" = dial ]; then EXTRA=(--clip "$CLIP" --clip-vocab "$VOCAB"); fi
RUN=$OUT/$METHOD-s$SEED
/usr/bin/time -f "train %e s wall, %U s user, %M KB peak" "$WSDOL" train --quiet --method "$METHOD" --data "$DATA" \
    --out "$RUN" --backbone "$BACKBONE" "${EXTRA[@]}" --seed "$SEED" --threads 1 --workers 1 --input-size 64 \
    --batch-size 4 --epochs 6 --warmup-epochs 1 --checkpoint-every 0 \
    --set image_size=64 --set patch_size=8 --set embed_dim=96 --set depth=4 --set num_heads=3 \
    --set decoder_dim=64 --set ctc_hidden=256 --set ctc_bottleneck=32 --set ctc_out=128 \
    --set local_crop_size=16 --set cam_input_size=64 --set seg_start=120 ${SET:-}
/usr/bin/time -f "infer %e s wall, %U s user" "$WSDOL" infer --checkpoint "$RUN/checkpoint.safetensors" --data "$DATA" \
    --split val --out "$RUN-val" --threads 1 | tee "$RUN-infer.txt"
"$WSDOL" eval --task seg --data "$DATA" --pred "$RUN-val" --pred-type npy --threshold 0.5 --json > "$RUN-seeds.json"
"$WSDOL" eval --task seg --data "$DATA" --pred "$RUN-val" --pred-type png --json > "$RUN-seg.json"
python3 -c "import json,sys; s=json.load(open('$RUN-seeds.json')); g=json.load(open('$RUN-seg.json')); print('$METHOD seed $SEED: CAM seeds (t 0.5) %.2f, segmentation %.2f' % (s['mIoU'], g['mIoU']))"
