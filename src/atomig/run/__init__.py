"""The only place that executes migrations: runner lock, ledger and journal, steps, retries."""
