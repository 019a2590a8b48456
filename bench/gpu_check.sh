#!/usr/bin/env bash
# The GPU checks of issues 18 and 27, one script for a session with a GPU (<= 6 minutes
# on an H200 with torch's CUDA build; no network):
#   bash bench/gpu_check.sh                  # from the repository root
#   GPU_CHECK_DRY=1 bash bench/gpu_check.sh  # CPU smoke test of every step, toy sizes
# Step timeouts add up to 360 s. Results go to $OUT (default /tmp/gpu-check): one JSON per step (gpu_*.json, each row
# written as soon as it is measured, so a step cut off by its timeout keeps what it
# measured) and RESULTS.md rendered by bench/make_results.py from bench/results/*.json
# plus these. To record them: copy $OUT/gpu_*.json into bench/results/ and run
# `python bench/make_results.py`.
# 1. the GPU tests: the padded path against packed cuDNN, the cells' compiled step
#    against their reference loop (1e-5, float32, TF32 off), host reads of a training
#    epoch, mixed precision for every architecture (tests named "gpu");
# 2. gpu_cell.json: lstm gru bilstm bigru at seed-A shapes, batch 128, one full-length
#    batch: the padded cuDNN path vs packed (what rnnbench ran before), float32 and bf16;
# 3. gpu_graph.json: the same archs on length-bucketed pinned batches (4 bucket shapes),
#    eager vs the training step captured as a CUDA graph per bucket shape (capturable
#    fused Adam, foreach clipping); one process per arch, so that a failed capture (it is
#    recorded with its error) cannot disturb the next;
# 4. gpu_cells.json: the peephole and CIFG LSTMs and the textbook LSTM cell: their loop
#    with each step compiled (the GPU plan) vs the reference loop (each cell class
#    compiles once, ~10-30 s: the GPU tests cover rnn_cell and gru_cell);
# 5. gpu_k_cells.json: K = 1, 4, 8, 16 lstm cells training at once on the one GPU, as
#    processes: summed samples/s and seed-A cells per hour.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-check}
DRY=${GPU_CHECK_DRY:-0}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-$PWD/src}
export PYTHONUNBUFFERED=1
FUSED=(lstm gru bilstm bigru)
# rnn_cell and gru_cell: in the GPU tests only (each cell class compiles once).
CELLS=(lstm_peephole lstm_cifg lstm_cell)
if [[ $DRY == 1 ]]; then # every code path once, in seconds, on a CPU
	SIZE=(--batch 8 --windows 1 --steps 1)
	FUSED=(lstm bigru)
	CELLS=(lstm_peephole)
	K=(1 2)
	SECONDS_PER_K=1
	SCALE=6 # a busy CPU is far slower than the GPU machine: longer timeouts
else
	SIZE=()
	K=(1 4 8 16)
	SECONDS_PER_K=8
	SCALE=1
fi

python - <<'PY' 2>&1 | tee "$OUT/device.txt" || exit 1
import os
import torch

print("torch", torch.__version__, "| CUDA", torch.version.cuda)
if os.environ.get("GPU_CHECK_DRY") == "1":
    print("dry run on", "cuda" if torch.cuda.is_available() else "cpu")
else:
    assert torch.cuda.is_available(), "no CUDA GPU"
    print(torch.cuda.get_device_name(0), "| cuDNN", torch.backends.cudnn.version())
PY

status=0
# step NAME SECONDS COMMAND...: run one step under its timeout, its output in $OUT/NAME.txt.
step() {
	local name=$1 seconds=$(($2 * SCALE))
	shift 2
	echo "=== $name ($(date -u +%H:%M:%S), at most ${seconds}s)"
	timeout -k 10 "$seconds" "$@" 2>&1 | tail -n 40 | tee "$OUT/$name.txt"
	local rc=${PIPESTATUS[0]}
	[[ $rc == 0 ]] || {
		echo "$name: exit $rc"
		status=1
	}
}

step tests 140 python -m pytest -q -p no:cacheprovider -k gpu \
	tests/test_models_padded.py tests/test_models_amp.py tests/test_batching.py \
	tests/test_train_sync.py tests/test_models_step_compile.py
step cell 35 python bench/gpu_bench.py cell "${SIZE[@]}" --archs "${FUSED[@]}" \
	--impls padded torch --amp none bf16 --out "$OUT/gpu_cell.json"
rm -f "$OUT/gpu_graph.json"
for arch in "${FUSED[@]}"; do
	step "graph-$arch" 15 python bench/gpu_bench.py cell "${SIZE[@]}" --archs "$arch" \
		--impls padded --buckets 4 --modes eager graph --append --out "$OUT/gpu_graph.json"
done
step cells 60 python bench/gpu_bench.py cell "${SIZE[@]}" --archs "${CELLS[@]}" \
	--impls padded reference --amp none --windows 3 --steps 5 --out "$OUT/gpu_cells.json"
step k-cells 60 python bench/gpu_bench.py cells --k "${K[@]}" --seconds "$SECONDS_PER_K" \
	--arch lstm --out "$OUT/gpu_k_cells.json"

# RESULTS.md with these figures beside the recorded CPU ones (bench/results).
mkdir -p "$OUT/results"
cp bench/results/*.json "$OUT/results/" 2>/dev/null
cp "$OUT"/gpu_*.json "$OUT/results/" 2>/dev/null
step render 5 python bench/make_results.py --results "$OUT/results" --out "$OUT/RESULTS.md"
exit $status
