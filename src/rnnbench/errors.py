"""Errors a user can act on: each message names the file, key or value at fault and what to do."""


class RnnbenchError(Exception):
    """Base class: the CLI prints these without a traceback."""


class ConfigError(RnnbenchError):
    """The configuration is invalid; raised before any job runs (at `snakemake -n`)."""


class DataError(RnnbenchError):
    """An input file is missing, corrupt or not in the declared format."""


class ChecksumError(DataError):
    """A fetched file's sha256 differs from the configured one."""
