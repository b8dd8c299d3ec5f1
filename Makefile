# Two commands for a newcomer: `make demo` (set up, search a bundled task, print the leaderboard)
# and `make test` (set up, run the test suite). Everything lives in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama.cpp is built from source: a portable AVX2 build. -march=native builds crash in the AMX
# matmul kernels on some server CPUs (seen on this project's machines), so native is off.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
export LITELLM_LOCAL_MODEL_COST_MAP := True
DEMO_TASK ?= benchmarks/tasks/sentiment.yaml

.PHONY: setup browser postgres demo test test-fast clean

$(BIN)/promptsearch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

setup: $(BIN)/promptsearch

# The report test opens the HTML report in headless Chromium (Debian's package).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# The PostgreSQL store tests need a server on 127.0.0.1:5432 (trust auth for user postgres);
# start the machine's own if it is down. Each test run creates and drops its own database.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { $(SUDO) service postgresql start >/dev/null \
		|| $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(pg_lsclusters -h | awk 'NR==1{print $$1, $$2}') start; \
		for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }

demo: setup
	$(BIN)/promptsearch run $(DEMO_TASK)

# The whole suite (what CI runs), with the 15 slowest tests named at the end.
test: setup browser postgres
	$(BIN)/python -m pytest -q --durations=15

# For every change: no model, no browser, no PostgreSQL, no multi-process runs; two test
# processes (pytest-xdist), as nothing in this tier times anything or loads a model.
test-fast: setup
	$(BIN)/python -m pytest -q -n 2 --dist worksteal \
		-m "not model and not browser and not postgres and not slow" \
		--durations=10

clean:
	rm -rf $(VENV) results/promptsearch.db* results/*/best.json
