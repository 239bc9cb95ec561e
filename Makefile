# Two commands do all the set-up: `make demo` and `make test`. Both are idempotent.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
SHARED ?= $(abspath ../shared)
# Model files at hand (../shared/models) are used instead of downloading them.
MODEL_SOURCES := $(if $(wildcard $(SHARED)/models),--from $(SHARED)/models)

.PHONY: demo test test-boot test-boot-arm64 system-deps test-deps venv models clean central central-stop

system-deps:
	@bash deploy/system-deps.sh

# The same, and the real browser the tests open the carer's report in.
test-deps:
	@bash deploy/system-deps.sh --test

# The runtime packages (all `make demo` needs); the test tools on top for `make test`.
$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $(STAMP)

# The central side's packages on top (Django, jsonschema, matplotlib, psycopg, apprise, waitress).
CENTRAL_STAMP := $(VENV)/.installed-central
$(CENTRAL_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[central]'
	@touch $(CENTRAL_STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(TEST_STAMP)

venv: $(STAMP)

# The default model always; the others wherever they can come from (../shared/models or the
# network). One that cannot is said here, and its tests skip naming the file that is missing.
models: $(STAMP)
	@$(PY) -m common.cli models fetch $(MODEL_SOURCES)
	@for model in movenet-lightning movenet-lightning-edgetpu; do \
	  $(PY) -m common.cli models fetch $$model $(MODEL_SOURCES) \
	    || echo "note: $$model is not available here; the tests that need it skip and say so"; done

# `make demo DEMO_ARGS="--program short_program"`: a short program of three movements instead.
demo: system-deps venv models
	$(PY) -m common.cli demo --out out/demo $(DEMO_ARGS)

# The central side on this machine: a Mosquitto of its own on 127.0.0.1, the collector on SQLite and
# the carers' web app, in the background (out/central); a second run starts only what is not running.
central: system-deps $(CENTRAL_STAMP)
	$(PY) -m common.cli central up --dir out/central

central-stop:
	@test -x $(PY) && $(PY) -m common.cli central down --dir out/central || echo "nothing to stop"

test: test-deps $(TEST_STAMP) models
	@# pytest exits 5 when it collected nothing: that must fail, not pass quietly.
	SILVERGYM_SHARED=$(SHARED) $(PY) -m pytest -q -p no:cacheprovider -m "not boot" tests; code=$$?; \
	  if [ $$code -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$code

# A fresh Debian 12 booted under systemd, deploy/install.sh run in it (tests/test_boot.py): needs
# root, debootstrap and systemd-nspawn; the Debian root is cached in ~/.cache/silvergym/boot.
test-boot: $(TEST_STAMP) models
	@bash deploy/system-deps.sh --boot
	SILVERGYM_SHARED=$(SHARED) $(PY) -m pytest -q -s -p no:cacheprovider -m boot tests/test_boot.py tests/test_boot_central.py; code=$$?; \
	  if [ $$code -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$code

# The same on the Pi's architecture: an arm64 Debian 12 (Pi OS Bookworm's base) under qemu-user
# emulation, its root cached as for test-boot; slow (see README, "On the Raspberry Pi").
test-boot-arm64: $(TEST_STAMP) models
	@bash deploy/system-deps.sh --boot-arm64
	SILVERGYM_BOOT_ARCH=arm64 SILVERGYM_SHARED=$(SHARED) $(PY) -m pytest -q -s -p no:cacheprovider -m boot tests/test_boot.py; code=$$?; \
	  if [ $$code -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$code

clean:
	rm -rf out .pytest_cache
