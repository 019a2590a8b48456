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
OPTIMIZERS: tuple[str, ...] = ("sgd", "nag", "adadelta", "adam", "adamw", "rmsprop")
