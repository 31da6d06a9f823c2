# Two commands do everything on a fresh machine:
#   make demo   set up, then run the main job on bundled data
#   make test   set up, then run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make test` and `make demo` started together in one checkout would both
# pip-install into one .venv at once; flock (util-linux) makes the second wait.
# The lock lies beside .venv, not in it: `venv --clear` empties .venv.
LOCK   := $(shell command -v flock >/dev/null 2>&1 && echo flock $(VENV).lock)

.PHONY: demo test setup install-venv system-libs bench clean

# Each step of setup runs under the lock. The stamp is written last, so a
# setup cut short leaves none and the next make picks it up again.
setup: $(STAMP)
	@$(LOCK) $(MAKE) --no-print-directory system-libs

# The Makefile is a prerequisite too: it holds the torch pin; and so is the
# venv's python, so that a dangling one (its system Python moved or removed)
# sets up again. A failed setup says how to go on, under pip's error.
$(STAMP): setup.py Makefile $(BIN)/python
	@$(LOCK) $(MAKE) --no-print-directory install-venv || \
	  { echo "make: setting up $(VENV) failed (see above); fix that and run make again," \
	         "or make clean first to start it over" >&2; exit 1; }

$(BIN)/python: ;

# Headless rendering needs EGL and Mesa's drivers; install them when we can.
system-libs:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  if ! dpkg -s libegl1 libgl1-mesa-dri >/dev/null 2>&1; then \
	    echo "installing libegl1 libgl1-mesa-dri for headless rendering"; \
	    (apt-get install -y -q libegl1 libgl1-mesa-dri >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libegl1 libgl1-mesa-dri >/dev/null)); \
	  fi; \
	fi

# (internal: the stamp's rule runs it under the lock)
# A .venv whose pip does not run is made anew: a setup interrupted inside
# `venv` leaves a python without pip, and a moved or upgraded system Python a
# dangling one. torch==2.13.0 is pinned first so pip takes the CPU build on
# disk instead of downloading a multi-GB CUDA build; setup.py's looser range
# is then satisfied. Where no such build lies on disk, PyPI's torch for Linux
# is the CUDA one: TORCH_INDEX=https://download.pytorch.org/whl/cpu takes the
# CPU build from PyTorch's own index.
install-venv:
	@if ! $(BIN)/python -m pip --version >/dev/null 2>&1; then \
	  $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	    { echo "make: PYTHON=$(PYTHON) is not a Python 3.11 or later that runs here;" \
	           "name one, e.g. make PYTHON=/usr/bin/python3.11 test" >&2; exit 1; }; \
	  echo "$(PYTHON) -m venv --clear $(VENV)"; \
	  $(PYTHON) -m venv --clear $(VENV); \
	fi
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[test,fast]"
	touch $(STAMP)

demo: setup
	$(BIN)/python -m voxgen.demo

test: setup
	$(BIN)/python -m pytest -q -n 2 tests

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) $(VENV).lock build *.egg-info
