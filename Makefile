# Two commands do everything on a fresh machine:
#   make demo   set up, then run the main job on bundled data
#   make test   set up, then run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup system-libs bench clean

setup: $(STAMP)

# Headless rendering needs EGL and Mesa's drivers; install them when we can.
system-libs:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  if ! dpkg -s libegl1 libgl1-mesa-dri >/dev/null 2>&1; then \
	    echo "installing libegl1 libgl1-mesa-dri for headless rendering"; \
	    (apt-get install -y -q libegl1 libgl1-mesa-dri >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libegl1 libgl1-mesa-dri >/dev/null)); \
	  fi; \
	fi

# torch==2.13.0 is pinned first so pip takes the CPU build on disk instead of
# downloading a multi-GB CUDA build; setup.py's looser range is then satisfied.
$(STAMP): setup.py | system-libs
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[test,fast]"
	touch $(STAMP)

demo: setup system-libs
	$(BIN)/python -m voxgen.demo

test: setup system-libs
	$(BIN)/python -m pytest -q -n 2 tests

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) build *.egg-info
