"""The experiment core: what a config asks for, as cells, specs and paths.

Below config loading, data, training and analysis (they all read from here), above only
``errors``, ``io``, ``registry``, ``names`` and ``optimizers``. Imports neither torch nor
pandas: the Snakefile uses it at parse time and ``rnnbench progress`` must answer at once.

- :mod:`.grid`: the grid's dimensions, its cells, and each cell's spec (hparam layers);
- :mod:`.paths`: every path template and output file name;
- :mod:`.spec`: a spec validated and resolved (:class:`~.spec.TrainingConfig`);
- :mod:`.tuning`: learning-rate tuning: trials, their specs, the selection;
- :mod:`.sources`: a dataset's source files and the config values each data stage reads;
- :mod:`.tasks`: one :class:`~.tasks.Task` per task (sentiment, ner, memory).
"""
