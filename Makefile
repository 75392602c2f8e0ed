# The two commands: `make run` (the main job) and `make test` (the whole suite).
# Both set everything up from nothing first (scripts/bootstrap.sh), and skip what is current.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
RUN_ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test soak bench setup lint typecheck lock clean

setup:
	@scripts/bootstrap.sh

run: setup
	@$(BIN)/corridor run $(RUN_ARGS)

test: setup lint typecheck
	@source corridor_ws/env.sh && python -m pytest $(PYTEST_ARGS)

# Every test marked `property`, with the hypothesis `soak` profile (5,000 examples per test), a
# fresh random seed (printed at the start and the end) and hypothesis' statistics per test.
soak: setup
	@source corridor_ws/env.sh && python -m pytest -m property --hypothesis-profile=soak \
		--hypothesis-show-statistics -p no:cacheprovider $(PYTEST_ARGS)

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: setup
	@$(BIN)/mypy

bench: setup
	@source corridor_ws/env.sh && python bench/run.py $(BENCH_ARGS)

lock: setup
	@$(BIN)/python scripts/lock.py

clean:
	rm -rf corridor_ws/build corridor_ws/install corridor_ws/log corridor_ws/last-build.log
