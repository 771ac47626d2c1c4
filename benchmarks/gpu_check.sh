#!/usr/bin/env bash
# The GPU check: the one script to run on a machine with a CUDA GPU.
#
#   bash benchmarks/gpu_check.sh          (or: make bench-gpu)
#
# 1. prints nvidia-smi and the python / torch / CUDA versions;
# 2. runs the GPU tests:  python -m pytest -q -m gpu -p no:cacheprovider
# 3. runs the GPU benchmark: python benchmarks/bench_gpu.py --json .../bench_gpu.json
#
# Output goes to the terminal and to $OUT (when set; else results/): info.txt,
# pytest_gpu.txt, bench_gpu.txt, bench_gpu.json. Every step has its own timeout so that
# the whole script ends within 9 minutes, and failing tests do not stop the benchmark
# (the benchmark writes its JSON after each section, so a timeout keeps what it measured).
# Exit status: 0 when the tests passed and the benchmark finished, else 1.
#
# Python: $PYTHON if set, else the first of .venv/bin/python and python3 whose torch sees
# CUDA (else the first that imports torch: the tests then skip and the benchmark runs its
# CPU rows). The repository is put on PYTHONPATH, so nlica need not be installed.
# Override the limits (seconds) with T_INFO, T_TESTS, T_BENCH and BENCH_BUDGET; BENCH_ARGS
# adds options to bench_gpu.py (e.g. BENCH_ARGS="--quick" for a smoke test of this script).

set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
OUT_DIR=${OUT:-$ROOT/results}
mkdir -p "$OUT_DIR"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

# 30 + 170 + 330 = 530 s < 9 minutes; the benchmark's own budget leaves room for its
# last row to overrun.
T_INFO=${T_INFO:-30}
T_TESTS=${T_TESTS:-170}
T_BENCH=${T_BENCH:-330}
BENCH_BUDGET=${BENCH_BUDGET:-270}

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
candidates+=(.venv/bin/python python3 python)

runnable() { [ -x "$1" ] || command -v "$1" >/dev/null 2>&1; }

pick_python() {
    local py
    for py in "${candidates[@]}"; do
        runnable "$py" || continue
        if timeout 60 "$py" -c "import sys, torch; sys.exit(not torch.cuda.is_available())" \
                2>/dev/null; then
            echo "$py"
            return
        fi
    done
    for py in "${candidates[@]}"; do
        runnable "$py" || continue
        if timeout 60 "$py" -c "import torch" 2>/dev/null; then
            echo "$py"
            return
        fi
    done
}

PY=$(pick_python)
if [ -z "$PY" ]; then
    echo "gpu_check: no python with torch found (tried: ${candidates[*]})" | tee "$OUT_DIR/info.txt"
    exit 1
fi

{
    echo "== gpu_check $(date '+%Y-%m-%d %H:%M:%S') in $ROOT"
    echo "== git: $(git rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout')"
    echo "== nvidia-smi"
    timeout "$T_INFO" nvidia-smi || echo "nvidia-smi not available"
    echo "== python: $PY"
    timeout "$T_INFO" "$PY" - <<'EOF' || echo "version check failed or timed out"
import platform, sys
import numpy, scipy, sklearn, torch
print("python", sys.version.split()[0], platform.platform())
print("numpy", numpy.__version__, "| scipy", scipy.__version__, "| sklearn", sklearn.__version__)
print("torch", torch.__version__, "| built for CUDA", torch.version.cuda,
      "| cuDNN", torch.backends.cudnn.version(), "| CUDA available", torch.cuda.is_available())
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.1f} GiB, "
          f"compute capability {p.major}.{p.minor}, {p.multi_processor_count} SMs")
try:
    import nlica
    print("nlica", nlica.__version__, "from", nlica.__file__)
except Exception as exc:
    print("nlica import failed:", type(exc).__name__, exc)
EOF
} 2>&1 | tee "$OUT_DIR/info.txt"

echo
echo "== GPU tests (timeout ${T_TESTS}s)"
if timeout 60 "$PY" -c "import pytest" 2>/dev/null; then
    timeout -k 10 "$T_TESTS" "$PY" -m pytest -q -m gpu -p no:cacheprovider -rs 2>&1 \
        | tee "$OUT_DIR/pytest_gpu.txt"
    tests_rc=${PIPESTATUS[0]}
else
    echo "pytest is not installed for $PY; GPU tests not run" | tee "$OUT_DIR/pytest_gpu.txt"
    tests_rc=1
fi
[ "$tests_rc" -eq 124 ] && echo "gpu_check: the tests timed out after ${T_TESTS}s"

echo
echo "== GPU benchmark (budget ${BENCH_BUDGET}s, timeout ${T_BENCH}s)"
timeout -k 10 "$T_BENCH" "$PY" benchmarks/bench_gpu.py --budget "$BENCH_BUDGET" \
    --json "$OUT_DIR/bench_gpu.json" ${BENCH_ARGS:-} 2>&1 | tee "$OUT_DIR/bench_gpu.txt"
bench_rc=${PIPESTATUS[0]}
[ "$bench_rc" -eq 124 ] && echo "gpu_check: the benchmark timed out after ${T_BENCH}s"

echo
echo "gpu_check: tests exit $tests_rc, benchmark exit $bench_rc; files in $OUT_DIR"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
