# Two entry points: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_DIR ?= demo_out

.PHONY: demo test venv clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: setup.py $(VENV)/bin/python
	$(PIP) install -q -e '.[test,photos,beam]'
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) bin/demo --out_dir=$(DEMO_DIR)

test: venv
	$(PY) -m pytest -q -n auto --durations=15 tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

clean:
	rm -rf $(VENV) $(DEMO_DIR) *.egg-info
