# What the terminal shows when a run ends (rnnbench.terminal): after a run that built the
# summary, its headline statements, where the summary and the comparison tables are and
# the report command; after a failure, the failed jobs' logs. `snakemake --report` with
# the experiment's results missing fails with one message saying so and naming the
# commands that make them and the report of what is on disk (rnnbench.report_check).
import rnnbench.report_check
import rnnbench.terminal

rnnbench.report_check.install()


onsuccess:
    rnnbench.terminal.print_answer(workflow, Path.cwd())


onerror:
    rnnbench.terminal.print_failures(workflow, log)
