#!/usr/bin/env bash
# The GPU checks of issue 18, for a session with a GPU (<= 6 minutes on an H200):
#   bash bench/gpu_check.sh        (from the repository root; results under $OUT or /tmp/gpu-check)
# 1. the GPU tests: the padded path against packed cuDNN at 1e-5 (float32, TF32 off; random
#    and length-bucketed batches), host reads of a training epoch on CUDA, and
#    mixed precision on CUDA for every architecture (tests marked / named "gpu");
# 2. per-cell samples/s at seed-A shapes, batch 128, lstm gru bilstm bigru: padded vs
#    packed path, float32 and bf16 (gpu_bench.py cell);
# 3. K cells side by side on the one GPU, K = 1, 4, 8 (gpu_bench.py cells).
set -uo pipefail
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-$PWD/src}
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.__version__, torch.cuda.get_device_name())" 2>&1 | tee "$OUT/device.txt" || exit 1
status=0
timeout 150 python -m pytest -q -p no:cacheprovider tests/test_models_padded.py tests/test_models_amp.py tests/test_batching.py tests/test_train_sync.py \
	-k "gpu" 2>&1 | tail -n 30 | tee "$OUT/tests.txt" || status=1
timeout 150 python bench/gpu_bench.py cell --out "$OUT/cell.json" 2>&1 | tee "$OUT/cell.txt" || status=1
timeout 90 python bench/gpu_bench.py cells --k 1 4 8 --seconds 10 --out "$OUT/k_cells.json" 2>&1 | tee "$OUT/k_cells.txt" || status=1
exit $status
