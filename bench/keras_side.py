"""Keras 3 / TensorFlow CPU side of the training-throughput bench: one model, one JSON line.

Run by the python of the separate Keras venv (see bench/keras_env.py), never by
rnnbench's: it imports neither torch nor rnnbench. The models mirror rnnbench's in
shapes, loss and optimizer, so samples/s compare the frameworks and not the models:

- seed-a: vocab 10,000, length 120, batch 128, Embedding(10000, 16) -> body -> Dense(6,
  relu) -> Dense(1) logit. Bodies: flatten, cnn (Conv1D(128, 5) + global average
  pooling), rnn/lstm/gru (hidden 32) and birnn/bilstm/bigru (hidden 32 each way, concat).
- seed-c: vocab 20,000, length 200, batch 1000, Embedding(20000, 64) -> 25 stacked
  layers of hidden 8 (rnn/lstm/gru) -> Dense(1) logit.

Loss: binary cross-entropy on the logit. Optimizer: Adam(1e-3), with global gradient-norm
clipping at 1.0 for recurrent models, as rnnbench trains them. Every row is full length
(random ids in [2, vocab)), so there is no masking, as on the rnnbench side.

    bench/.venv-keras/bin/python bench/keras_side.py --shape seed-a --arch bilstm --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from shapes import RECURRENT, SHAPES, Shape  # bench/, first on sys.path for a script

CONV_FILTERS, CONV_KERNEL = 128, 5
CLIP_NORM = 1.0  # rnnbench's RECURRENT_CLIP_NORM
LEARNING_RATE = 1e-3


def parse_args() -> argparse.Namespace:
    """CLI; timing sizes left out take the shape's defaults (see SHAPES)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=tuple(SHAPES), default="seed-a")
    parser.add_argument("--arch", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--windows", type=int, default=None)
    parser.add_argument("--batches", type=int, default=None, help="batches per timed window")
    parser.add_argument("--warmup", type=int, default=None, help="untimed batches first")
    args = parser.parse_args()
    shape = SHAPES[args.shape]
    if args.arch not in shape.archs:
        parser.error(f"--arch for {args.shape} must be one of {', '.join(shape.archs)}")
    for name in ("windows", "batches", "warmup"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(shape, name))
    if args.threads < 1 or args.windows < 1 or args.batches < 1 or args.warmup < 0:
        parser.error("--threads, --windows and --batches must be >= 1, --warmup >= 0")
    return args


def set_thread_env(threads: int) -> None:
    """Thread counts and backend must be in the environment before TensorFlow is imported.

    TensorFlow reads TF_NUM_*_THREADS when it creates its thread pools and oneDNN/OpenMP
    read OMP_NUM_THREADS at load; tf.config.threading is set too (see ``main``), but only
    the environment reaches pools created during import.
    """
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # TensorFlow's C++ info and warning lines off


def build_model(keras: Any, shape: Shape, arch: str) -> Any:
    """Embedding -> body -> [Dense(head_hidden, relu)] -> Dense(1), as rnnbench builds it."""
    layers = keras.layers
    cells = {"rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}
    stack: list[Any] = [
        keras.Input(shape=(shape.length,), dtype="int32"),
        layers.Embedding(shape.vocab, shape.embedding_dim),
    ]
    if arch == "flatten":
        stack.append(layers.Flatten())
    elif arch == "cnn":
        # 'valid' convolution averaged over all windows, as rnnbench's ConvBody.
        stack += [
            layers.Conv1D(CONV_FILTERS, CONV_KERNEL, activation="relu"),
            layers.GlobalAveragePooling1D(),
        ]
    else:
        bidirectional = arch.startswith("bi")
        cell = cells[arch.removeprefix("bi")]  # GRU: reset_after=True, PyTorch's form
        for index in range(shape.layers):
            layer = cell(shape.hidden, return_sequences=index < shape.layers - 1)
            stack.append(
                layers.Bidirectional(layer, merge_mode="concat") if bidirectional else layer
            )
    if shape.head_hidden:
        stack.append(layers.Dense(shape.head_hidden, activation="relu"))
    stack.append(layers.Dense(1))  # one logit, BCE from logits
    return keras.Sequential(stack, name=arch)


def main() -> None:
    """Build, compile, warm up, time ``windows`` x ``batches`` train steps, print JSON."""
    args = parse_args()
    set_thread_env(args.threads)

    # Imported here, not at the top: only after the environment above is set.
    import keras
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(0)  # weight initialisation

    shape = SHAPES[args.shape]
    model = build_model(keras, shape, args.arch)
    # torch's Adam epsilon (Keras defaults to 1e-7); clipping over all weights at once,
    # like torch.nn.utils.clip_grad_norm_.
    clip = {"global_clipnorm": CLIP_NORM} if args.arch in RECURRENT else {}
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE, epsilon=1e-8, **clip),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        # jit_compile left at Keras' default ("auto"); its resolution is reported below.
    )

    rng = np.random.default_rng(0)
    x = tf.constant(rng.integers(2, shape.vocab, size=(shape.batch, shape.length), dtype=np.int32))
    y = tf.constant(rng.integers(0, 2, size=(shape.batch, 1)).astype(np.float32))

    # train_on_batch returns the loss as a numpy value, so each call has finished when it
    # returns; the first call also traces and compiles the train function.
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    rates = []
    for _ in range(args.windows):
        started = time.perf_counter()
        for _ in range(args.batches):
            model.train_on_batch(x, y)
        rates.append(shape.batch * args.batches / (time.perf_counter() - started))

    row = {
        "arch": args.arch,
        "shape": args.shape,
        "params": int(model.count_params()),
        "samples_per_second": round(statistics.median(rates), 1),
        "spread": [round(min(rates), 1), round(max(rates), 1)],
        "threads": args.threads,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "jit_compile": model.jit_compile,
        "batch": shape.batch,
        "warmup": args.warmup,
        "windows": args.windows,
        "batches": args.batches,
    }
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
