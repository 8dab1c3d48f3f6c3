#!/usr/bin/env bash
# What the project runs on a lent GPU host (JAX + PyTorch, no TensorFlow), from the repo root.
#
#   benchmarks/gpu_session.sh setup              # wheels from .whl/ (keras, keras-tuner), CIFAR-10 to /tmp/data
#   benchmarks/gpu_session.sh train SECONDS [RECIPE...]  # start or resume resnet20-cifar10 runs, stop after SECONDS
#   benchmarks/gpu_session.sh bench              # ResNet-50 bf16 vs torchvision, and the backends benchmark
#
# `train` runs the resnet20-cifar10 recipes below (default: erase-ls) side by
# side on the one GPU (a ResNet-20 step is too small to fill an H100 alone). Each run
# checkpoints every epoch, so a call that is cut off is resumed by the next.
# The CIFAR-10 archive is read from .gpu/cifar10.tar.gz (carried with the call) or ../shared/data.
# Results go to $OUT (or /tmp/zoo-gpu-out): the run directories as a tarball, JSON and logs.
set -uo pipefail
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
OUT=${OUT:-/tmp/zoo-gpu-out}
mkdir -p "$OUT"
if [ -d /tmp/site ]; then export PYTHONPATH=/tmp/site:$PWD; else export PYTHONPATH=$PWD; fi

# The paper's setting (He et al. 2016, sec. 4.2): all 50k training images,
# SGD momentum 0.9, batch 128, 4-pixel pad-and-crop and horizontal flips;
# cosine instead of steps. EPOCHS (default 230) sets the length.
COMMON=(resnet20 --data /tmp/data/cifar10 --validation-split 0 --epochs "${EPOCHS:-230}" --batch-size 128
        --optimizer nesterov --learning-rate 0.1 --momentum 0.9 --schedule cosine
        --warmup-epochs 2 --min-lr 0.0001 --l2 0.00025 --augment flip --augment crop:0.125
        --seed 1 --track-test)
# recipe NAME -> extra arguments; `erase-ls` is the shipped resnet20-cifar10.
declare -A RECIPES=(
  [paper]=""                                           # the paper's augmentation only
  [erase]="--augment erase:0.5"                        # plus random erasing (Zhong et al. 2017)
  [erase-ls]="--augment erase:0.5 --label-smoothing 0.1"  # plus label smoothing 0.1
)
declare -A SAVE_AS=([paper]=resnet20-cifar10-paper [erase]=resnet20-cifar10-erase [erase-ls]=resnet20-cifar10)

# train_one SECONDS RUN_DIR SAVE_AS ARGS...: start the run, or resume it when it has a state.
train_one() {
  local seconds=$1 run=$2 save_as=$3; shift 3
  if [ -f "$run/state.json" ]; then
    timeout --signal=KILL "$seconds" python3 -m cli.main train --resume "$run" --save-as "$save_as" --overwrite
  else
    timeout --signal=KILL "$seconds" python3 -m cli.main train "$@" --run-dir "$run" --save-as "$save_as" --overwrite
  fi
  echo "$run: train exit $?"
}

case "${1:-}" in
setup)
  if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl || exit 1
  fi
  archive=.gpu/cifar10.tar.gz
  [ -f "$archive" ] || archive=../shared/data/cifar10.tar.gz
  mkdir -p /tmp/data && tar -xzf "$archive" -C /tmp/data || exit 1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  PYTHONPATH=/tmp/site:$PWD python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"
  ;;
train)
  seconds=${2:?seconds}; shift 2
  recipes=("${@:-erase-ls}")
  # The runs share the GPU: each may take at most 30 % of its memory.
  export XLA_PYTHON_CLIENT_MEM_FRACTION=0.3
  for r in "${recipes[@]}"; do
    # shellcheck disable=SC2086  # the recipe's extra arguments are split on purpose
    train_one "$seconds" "runs/resnet20-cifar10-$r" "${SAVE_AS[$r]}" "${COMMON[@]}" ${RECIPES[$r]} \
      > "$OUT/$r.log" 2>&1 &
  done
  wait
  for r in "${recipes[@]}"; do
    tail -n 4 "$OUT/$r.log"
    cp "runs/resnet20-cifar10-$r/history.csv" "$OUT/history-$r.csv" 2>/dev/null
  done
  tar -czf "$OUT/runs.tar.gz" runs/resnet20-cifar10-* $(ls -d saved_models/resnet20-cifar10* 2>/dev/null)
  ;;
bench)
  (cd benchmarks && python3 bench_gpu_resnet50.py --json "$OUT/gpu_resnet50.json") 2>&1 | tee "$OUT/gpu_resnet50.log"
  ;;
*)
  echo "usage: $0 setup | train SECONDS | bench" >&2
  exit 2
  ;;
esac
