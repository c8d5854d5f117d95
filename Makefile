# Two commands, nothing else to install first (needs Python 3.11, git and make):
#   make run    set up the environment if needed, run the whole pipeline on the default cohort, print where the reports are
#   make test   set up the environment if needed, run the test suite (library tests, notebooks end to end, nbval)
# The environment is built by uv from uv.lock (exact versions); uv itself is installed from PyPI into .tools/.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_LINK_MODE := copy

.PHONY: run test setup lab clean-env

run: $(STAMP)
	$(VENV)/bin/workbench run --profile default

test: $(STAMP)
	$(VENV)/bin/python -m pytest tests
	$(VENV)/bin/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks

setup: $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/workbench lab

$(UV):
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]} at {sys.executable}"'
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --python $(PYTHON)
	@touch $(STAMP)

clean-env:
	rm -rf $(VENV) $(TOOLS)
