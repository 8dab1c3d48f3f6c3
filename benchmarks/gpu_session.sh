#!/usr/bin/env bash
# What the project runs on a lent GPU host (JAX + PyTorch, no TensorFlow), from the repo root.
#
#   benchmarks/gpu_session.sh setup              # wheels from .whl/ (keras, keras-tuner), CIFAR-10 to /tmp/data
#   benchmarks/gpu_session.sh train SECONDS      # start or resume the resnet20-cifar10 run, stop after SECONDS
#   benchmarks/gpu_session.sh bench              # ResNet-50 bf16 vs torchvision, and the backends benchmark
#
# The CIFAR-10 archive is read from .gpu/cifar10.tar.gz (carried with the call) or ../shared/data.
# Results go to $OUT (or /tmp/zoo-gpu-out): the run directory as a tarball, JSON and logs.
set -uo pipefail
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
OUT=${OUT:-/tmp/zoo-gpu-out}
mkdir -p "$OUT"
if [ -d /tmp/site ]; then export PYTHONPATH=/tmp/site:$PWD; else export PYTHONPATH=$PWD; fi
RUN=training_runs/resnet20-cifar10-gpu

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
  seconds=${2:?seconds}
  if [ -f "$RUN/state.json" ]; then
    timeout --signal=KILL "$seconds" python3 -m cli.main train --resume "$RUN" --save-as resnet20-cifar10
  else
    timeout --signal=KILL "$seconds" python3 -m cli.main train resnet20 --data /tmp/data/cifar10 \
      --epochs 100 --batch-size 128 --optimizer nesterov --learning-rate 0.1 --momentum 0.9 \
      --schedule cosine --warmup-epochs 2 --min-lr 0.0001 --l2 0.00025 \
      --augment flip --augment crop:0.125 --seed 1 --track-test \
      --run-dir "$RUN" --save-as resnet20-cifar10
  fi
  echo "train exit: $?"
  tar -czf "$OUT/run.tar.gz" "$RUN" $( [ -d saved_models/resnet20-cifar10 ] && echo saved_models/resnet20-cifar10 )
  cp "$RUN/history.csv" "$OUT/history.csv" 2>/dev/null
  ;;
bench)
  (cd benchmarks && python3 bench_gpu_resnet50.py --json "$OUT/gpu_resnet50.json") 2>&1 | tee "$OUT/gpu_resnet50.log"
  ;;
*)
  echo "usage: $0 setup | train SECONDS | bench" >&2
  exit 2
  ;;
esac
