"""The names a config may use for architectures and optimizers, in display order.

Kept free of heavy imports: config validation at workflow parse time and the plotting
jobs need the names, not torch. The architectures are the registry's
(rnnbench.registry), extra modules named in RNNBENCH_ARCH_MODULES included.
"""

from rnnbench import registry

FUSED_ARCHS: tuple[str, ...] = ("rnn", "lstm", "gru", "birnn", "bilstm", "bigru")
CELL_ARCHS: tuple[str, ...] = ("rnn_cell", "lstm_cell", "gru_cell", "lstm_peephole", "lstm_cifg")
ARCHITECTURES: tuple[str, ...] = registry.names()
RECURRENT: tuple[str, ...] = registry.recurrent_names()
OPTIMIZERS: tuple[str, ...] = (
    "sgd",
    "sgd_momentum",
    "nag",
    "adadelta",
    "rmsprop",
    "adam",
    "adamw",
)

# What computed a model's recurrent layers, as metrics.json's hardware.exec_path records it.
EXEC_COMPILED = "compiled kernels"  # rnnbench's C++ time loops (native/kernels.cpp)
EXEC_PYTHON = "Python loops"  # the reference path: autograd over the textbook cell, per step
EXEC_ONEDNN = "torch module (oneDNN)"  # torch's fused CPU LSTM kernel
EXEC_TORCH = "torch module"  # torch's own CPU (or non-cuDNN GPU) recurrence
EXEC_CUDNN = "cuDNN"
EXEC_PARALLEL_SCAN = "parallel scan (torch ops)"  # minGRU/minLSTM (models/minrnn.py)
EXEC_NO_RECURRENCE = "no recurrent layer"  # flatten, CNN: torch modules only
# Appended to a torch path run over the padded batch without packing (models/padded.py,
# the GPU path): "cuDNN, unpacked".
UNPACKED = ", unpacked"
