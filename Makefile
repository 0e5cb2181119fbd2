# The two-command promise: on a fresh machine, `make demo` and `make test` are all the set-up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The stamp changes whenever pyproject.toml does, so dependency edits reinstall.
STAMP := $(VENV)/.installed

.PHONY: demo test check lint typecheck unit bench bench-all venv clean pg15 bench-deps docs new-rule snapshots

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: venv
	$(BIN)/python examples/demo.py

pg15:
	@bash scripts/ensure-pg15.sh

check: venv
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: venv pg15 check
	$(BIN)/pytest

unit: venv
	$(BIN)/pytest tests/unit

bench-deps: venv
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'

# The headline benchmark: application traffic while migrations run (see README).
bench: bench-deps
	$(BIN)/python bench/live_traffic.py

bench-all: bench-deps
	$(BIN)/python bench/live_traffic.py
	$(BIN)/python bench/runner_overhead.py
	$(BIN)/python bench/lock_queue.py
	$(BIN)/python bench/backfill.py
	$(BIN)/python bench/lint_speed.py
	$(BIN)/python bench/verify_speed.py

# Rule pages (docs/rules/) and the README rule table, generated from the rule modules.
docs: venv
	$(BIN)/python -m atomig.lint.docs .

clean:
	rm -rf $(VENV) .atomig .pytest_cache .mypy_cache .ruff_cache

# Scaffold a lint rule: make new-rule NAME=rule-id [CATEGORY=locking] [SEVERITY=warning]
new-rule: venv
	@test -n "$(NAME)" || (echo "usage: make new-rule NAME=rule-id [CATEGORY=…] [SEVERITY=…]" && exit 2)
	$(BIN)/python scripts/new_rule.py $(NAME) --category $(or $(CATEGORY),locking) --severity $(or $(SEVERITY),warning)
	$(BIN)/python -m atomig.lint.docs .

# Rewrite the snapshots of rendered findings (tests/lint/__snapshots__/) after a wording change.
snapshots: venv
	ATOMIG_SNAPSHOT_UPDATE=1 $(BIN)/pytest -q -p no:randomly tests/lint/test_snapshots.py
