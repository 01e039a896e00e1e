# dropscribe — a folder that transcribes what you drop into it.
#
#   make run     set up (system packages, default model), build release, watch ./inbox
#   make test    the same set-up, then the whole test suite
#
# Other targets: build, deps, models, corpus, fuzz, bench, bench-memory, clean.

SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= config.example.toml
CORPUS ?= $(CURDIR)/.corpus
APT_PACKAGES := pkg-config libavformat-dev libavcodec-dev libswresample-dev libavutil-dev \
	libopenblas-dev zlib1g-dev espeak-ng sox ffmpeg time alsa-utils
export DROPSCRIBE_CORPUS := $(CORPUS)
export DROPSCRIBE_MODELS := $(CURDIR)/models

.PHONY: run test build release deps models corpus fuzz bench bench-memory clean

deps:
	@packaging/install-deps.sh $(APT_PACKAGES)

models: deps
	@packaging/setup-models.sh tiny.en base

corpus: deps
	@if [ -f "$(CORPUS)/MANIFEST.sha256" ] && [ "$(CORPUS)/MANIFEST.sha256" -nt Tests/Corpus/make-corpus.sh ]; then \
		echo "corpus: ready in $(CORPUS)"; \
	else Tests/Corpus/make-corpus.sh "$(CORPUS)"; fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: models release
	@mkdir -p inbox
	$$($(SWIFT) build -c release --show-bin-path)/dropscribe watch inbox --config $(CONFIG)

test: models corpus
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel --num-workers 2

# dropscribe against faster-whisper (a venv made at benchmark time only); writes BENCHMARKS.md.
bench: models corpus release
	python3 bench/bench.py $(BENCH_ARGS)

# Worker peak RSS against file length (1, 60, 180 min) through the real daemon; the
# 180-minute file is made once into .corpus-long (about 540 MB).
bench-memory: models release
	@if [ ! -f .corpus-long/long/long-180min.flac ]; then Tests/Corpus/make-corpus.sh .corpus-long --long; fi
	python3 bench/bench-memory.py $(BENCH_ARGS)

clean:
	rm -rf .build .corpus

# 10,000 damaged corpus files through the decoder (DROPSCRIBE_FUZZ_COUNT / _SEED to change).
fuzz: corpus
	$(SWIFT) build --build-tests
	DROPSCRIBE_FUZZ_COUNT=$${DROPSCRIBE_FUZZ_COUNT:-10000} $(SWIFT) test --skip-build --filter MutationTests
