# dropscribe — a folder that transcribes what you drop into it.
#
#   make run     set up (system packages, default model), build release, watch ./inbox
#   make test    the same set-up, a check that every @Test checks something, then the whole test suite
#
#   make chaos   fault injection at full size (kills, OOM, floods, bad input; ~1 hour)
#
# Other targets: build, deps, models, corpus, fuzz, bench, bench-memory, bench-scale, kernel-compare, clean;
#   deb (the .deb), deb-test (install test in a fresh Debian 12 chroot), k8s-check.

SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= config.example.toml
CORPUS ?= $(CURDIR)/.corpus
APT_PACKAGES := pkg-config libavformat-dev libavcodec-dev libswresample-dev libavutil-dev \
	libopenblas-dev zlib1g-dev espeak-ng sox ffmpeg time alsa-utils \
	python3-prometheus-client python3-yaml
export DROPSCRIBE_CORPUS := $(CORPUS)
export DROPSCRIBE_MODELS := $(CURDIR)/models

.PHONY: run test chaos build release deps models corpus fuzz bench bench-memory bench-scale kernel-compare clean deb deb-test k8s-check

deps:
	@packaging/install-deps.sh $(APT_PACKAGES)

models: deps
	@packaging/setup-models.sh tiny.en base vad

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
	/usr/bin/python3 packaging/kubernetes/validate.py
	/usr/bin/python3 Tests/check-expectations.py
	$(SWIFT) build --build-tests
	@# The OpenBLAS kernels the binary runs on this CPU (it re-selects them where OpenBLAS guesses
	@# wrong, docs/engine.md §10), so that the in-process tests use the same ones.
	core=$$($$($(SWIFT) build --show-bin-path)/dropscribe --version | sed -n 's/^OpenBLAS core \([A-Za-z0-9_]*\).*/\1/p'); \
	if [ -n "$$core" ]; then export OPENBLAS_CORETYPE=$$core; fi; \
	$(SWIFT) test --skip-build --parallel --num-workers 2

# dropscribe_<version>_<arch>.deb in this folder: release binary with the Swift
# runtime linked in, config, systemd unit, man page, model set-up (dpkg-deb).
deb: deps
	packaging/build-deb.sh

# Installs the .deb into a fresh Debian 12 minbase chroot (debootstrap, once, into
# .deb-test/) and checks it there: --version/--help, a transcription, the daemon
# with the packaged config, systemd-analyze verify, the postinst offline, purge.
# Needs root and the network; takes ~2-4 min, so it is not part of `make test`.
# DROPSCRIBE_DEB_TEST_BOOT=1 also boots the chroot with systemd-nspawn and runs the
# unit under a real systemd; DROPSCRIBE_DEB_TEST_DOWNLOAD=1 lets postinst fetch the model.
deb-test: deb
	packaging/test-deb.sh

# Parses and cross-checks the Kubernetes manifests (python3-yaml); no cluster needed.
k8s-check:
	/usr/bin/python3 packaging/kubernetes/validate.py
# Issue 8 at full size: 200 jobs over 4 daemons with 40 kill -9, 10,000 files at once with an
# inotify overflow, every bad corpus file, real-model kill -9 of daemons and workers (>= 20)
# against an uninterrupted run, out of memory. `make test` runs the short forms (~2.5 min).
chaos: models corpus
	$(SWIFT) build --build-tests
	DROPSCRIBE_CHAOS=1 $(SWIFT) test --skip-build --filter 'FaultTests|RealFaultTests'

# dropscribe against faster-whisper (a venv made at benchmark time only); writes BENCHMARKS.md.
bench: models corpus release
	python3 bench/bench.py $(BENCH_ARGS)

# What an idle daemon costs on inboxes of 10,000 / 100,000 / 1,000,000 finished jobs (made once
# into .bench-scale/, about 12 GB at a million), inotify on and off: CPU and system calls per
# rescan, peak RSS, new file to claim, status; and a rescan on a FUSE share with 0.5 ms per
# metadata operation (strace, fuse3 and python3-fusepy from Debian). BENCH_SCALE_ARGS to change.
bench-scale: release
	@packaging/install-deps.sh strace fuse3 python3-fusepy
	/usr/bin/python3 bench/bench_scale.py $(BENCH_SCALE_ARGS)

# Worker peak RSS against file length (1, 60, 180 min) through the real daemon; the
# 180-minute file is made once into .corpus-long (about 540 MB).
# The measurement behind the int8/bfloat16 kernel choice (BENCHMARKS.md): oneDNN's matmuls
# against Sources/CKernels on one encoder layer's shapes, one thread. oneDNN is needed only
# here (the engine does not link it), so it is installed here rather than by deps.
kernel-compare:
	@dpkg -s libdnnl-dev >/dev/null 2>&1 || packaging/install-deps.sh libdnnl-dev
	mkdir -p .build
	clang -O2 -o .build/kernel-compare bench/kernel-compare.c Sources/CKernels/*.c -ISources/CKernels/include -ldnnl
	OMP_NUM_THREADS=1 taskset -c 0 .build/kernel-compare

bench-memory: models release
	@if [ ! -f .corpus-long/long/long-180min.flac ]; then Tests/Corpus/make-corpus.sh .corpus-long --long; fi
	python3 bench/bench-memory.py $(BENCH_ARGS)

clean:
	rm -rf .build .corpus .deb-test

# 10,000 damaged corpus files through the decoder (DROPSCRIBE_FUZZ_COUNT / _SEED to change).
fuzz: corpus
	$(SWIFT) build --build-tests
	DROPSCRIBE_FUZZ_COUNT=$${DROPSCRIBE_FUZZ_COUNT:-10000} $(SWIFT) test --skip-build --filter MutationTests
