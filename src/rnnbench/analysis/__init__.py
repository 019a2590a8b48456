"""Analysis of a finished grid: collect runs, sanity checks, statistics and plots."""
