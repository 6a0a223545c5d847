#!/usr/bin/env bash
# bench/seeds/method_seeds.sh — one method configuration trained over several seeds on an existing demo output
# (its benchmark DIR/data, pretrained ViT DIR/runs/pretrain and small CLIP DIR/clip, as `wsdol demo` made them),
# with the demo's per-method settings (apps/cmd_demo.cpp), evaluated with `wsdol infer` (MCTformer's sweep).
# Used for the ablation rows of issue 21 (README "Results"); prints one line per seed and the mean ± sample std.
#   bench/seeds/method_seeds.sh DEMO_DIR OUT_DIR METHOD "SEEDS" [--set key=value ...]
#   e.g. bench/seeds/method_seeds.sh demo abl/t1 mmcst "0 1 2" --set temperature=1
set -euo pipefail
demo=$1 out=$2 method=$3 seeds=$4
shift 4
wsdol=${WSDOL:-$(dirname "$0")/../../build/wsdol}
mkdir -p "$out"
cfg="$out/settings.cfg"
cat > "$cfg" <<CFG
method = $method
epochs = 20
batch-size = 16
lr = 5e-4
warmup-epochs = 1
input-size = 64
augmentation = flip
CFG
vit=(--set image_size=64 --set patch_size=8 --set embed_dim=96 --set depth=4 --set num_heads=3 --set patch_refine=false)
for s in $seeds; do
  run="$out/run-seed$s" maps="$out/maps-seed$s"
  "$wsdol" train --config "$cfg" --data "$demo/data" --out "$run" --backbone "$demo/runs/pretrain/checkpoint.safetensors" \
    --clip "$demo/clip/clip.safetensors" --clip-vocab "$demo/clip/vocab.txt.gz" --seed "$s" --checkpoint-every 0 \
    "${vit[@]}" "$@" --quiet > "$out/train-seed$s.log" 2>&1
  "$wsdol" infer --checkpoint "$run/checkpoint.safetensors" --data "$demo/data" --out "$maps" --split train --no-png \
    --quiet > "$out/infer-seed$s.log" 2>&1
  grep -i "sweep\|published protocol" "$out/infer-seed$s.log" | head -1 | sed "s/^/seed $s: /" | tee -a "$out/seeds.txt"
done
# mean ± sample std (n - 1) of the seed mIoU over the seeds run now
awk '/seed mIoU/ { for (i = 1; i <= NF; ++i) if ($i == "mIoU") { v[n++] = $(i + 1) } }
     END { if (n == 0) exit 1; for (i = 0; i < n; ++i) m += v[i]; m /= n;
           for (i = 0; i < n; ++i) ss += (v[i] - m) ^ 2; sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
           printf "mean ± std over %d seeds: %.2f ± %.2f\n", n, m, sd }' <(tail -n "$(echo $seeds | wc -w)" "$out/seeds.txt")
