# The two commands of the README: `make serve` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test unit conformance lint benchmark benchmark-ec2 benchmark-emulator clean

$(STAMP): pyproject.toml scripts/ensure-libvirt.sh
	scripts/ensure-libvirt.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,prod,libvirt]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/ec2bridge serve $(ARGS)

lint: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP) lint
	EC2BRIDGE_TEST_MYSQL=$$(scripts/ensure-mariadb.sh) $(BIN)/python -m pytest -q -rs $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest -q -rs tests $(PYTEST_ARGS)

conformance: $(STAMP)
	$(BIN)/python -m pytest -q -rs conformance $(PYTEST_ARGS)

benchmark: $(STAMP)
	$(BIN)/python benchmarks/planner_and_listing.py

benchmark-ec2: $(STAMP)
	$(BIN)/python benchmarks/ec2_vs_moto.py

benchmark-emulator: $(STAMP)
	$(BIN)/python benchmarks/emulator_speed.py

clean:
	rm -rf $(VENV) data .pytest_cache
