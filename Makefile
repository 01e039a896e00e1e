# dropscribe — a folder that transcribes what you drop into it.
#
#   make run     set up (system packages, default model), build release, watch ./inbox
#   make test    the same set-up, then the whole test suite
#
#   make chaos   fault injection at full size (kills, OOM, floods, bad input; ~1 hour)
#
# Other targets: build, deps, models, corpus, fuzz, bench, clean.

SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= config.example.toml
CORPUS ?= $(CURDIR)/.corpus
APT_PACKAGES := pkg-config libavformat-dev libavcodec-dev libswresample-dev libavutil-dev \
	libopenblas-dev zlib1g-dev espeak-ng sox ffmpeg time alsa-utils
export DROPSCRIBE_CORPUS := $(CORPUS)
export DROPSCRIBE_MODELS := $(CURDIR)/models

.PHONY: run test chaos build release deps models corpus fuzz bench clean

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

# Issue 8 at full size: 200 jobs over 4 daemons with 40 kill -9, 10,000 files at once with an
# inotify overflow, every bad corpus file, real-model kill -9 of daemons and workers (>= 20)
# against an uninterrupted run, out of memory. `make test` runs the short forms (~2.5 min).
chaos: models corpus
	$(SWIFT) build --build-tests
	DROPSCRIBE_CHAOS=1 $(SWIFT) test --skip-build --filter 'FaultTests|RealFaultTests'

# dropscribe against faster-whisper (a venv made at benchmark time only); writes BENCHMARKS.md.
bench: models corpus release
	python3 bench/bench.py $(BENCH_ARGS)

clean:
	rm -rf .build .corpus

# 10,000 damaged corpus files through the decoder (DROPSCRIBE_FUZZ_COUNT / _SEED to change).
fuzz: corpus
	$(SWIFT) build --build-tests
	DROPSCRIBE_FUZZ_COUNT=$${DROPSCRIBE_FUZZ_COUNT:-10000} $(SWIFT) test --skip-build --filter MutationTests
