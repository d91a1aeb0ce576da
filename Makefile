# The two commands a newcomer needs are `make demo` and `make test`; each installs what is missing first.
JOBS ?= 2
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 60

.PHONY: all help deps build test demo web-demo forge-demo cubes arena voice asan tsan bench fuzz install format clean

all: build

help:
	@echo "make demo         install missing Debian packages, build, run a server and 4 clients on loopback"
	@echo "make test         install missing Debian packages, build, run every test (ctest)"
	@echo "make build        dependencies, configure (cmake --preset default) and build into build/"
	@echo "make web-demo     the browser client: eustress-server serves web/'s page on http://127.0.0.1:8080/"
	@echo "make cubes        the replication example (build/examples/cubes/eustress-cubes --seconds 20)"
	@echo "make arena        the prediction example (build/examples/arena/eustress-arena --seconds 10)"
	@echo "make voice        the voice example (build/examples/voice/eustress-voice --seconds 10)"
	@echo "make forge-demo   Forge scaling a fleet while real clients are matched (40 s)"
	@echo "make asan         the whole suite under ASan + UBSan in build-asan/"
	@echo "make tsan         the worker-thread tests under ThreadSanitizer in build-tsan/"
	@echo "make fuzz         every libFuzzer target for FUZZ_SECONDS (default 60) in build-fuzz/"
	@echo "make bench        the benchmarks against ENet and raw sockets (docs/PERFORMANCE.md) in build-bench/"
	@echo "make install      PREFIX=... the library, headers, CMake package and apps"
	@echo "make format       clang-format over the tree"
	@echo "make clean        remove every build folder"
	@echo "JOBS=N sets build parallelism (default 2); docs/README.md says what to read first"

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

test: build
	ctest --preset default --no-label-summary

demo: build
	./build/apps/eustress-demo

web-demo: build
	@scripts/web-setup.sh
	./build/apps/eustress-server --websocket $(or $(WEB_PORT),8080) --allow-origin '*' --web-root web/dist --cubes 24

forge-demo: build
	./build/apps/eustress-forge --demo --duration 40

cubes: build
	./build/examples/cubes/eustress-cubes --seconds 20

arena: build
	./build/examples/arena/eustress-arena --seconds 10

voice: build
	./build/examples/voice/eustress-voice --seconds 10

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	ctest --preset asan --no-label-summary

# ThreadSanitizer over the tests of what runs on the replication server's worker threads (a few minutes to build).
tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan --no-label-summary

bench:
	@scripts/install-deps.sh bench
	@cmake --preset bench >/dev/null
	@cmake --build --preset bench -j $(JOBS)
	bench/run.sh

fuzz:
	@scripts/install-deps.sh fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	tests/fuzz/run.sh $(FUZZ_SECONDS)

install: build
	cmake --install build --prefix $(PREFIX)

format:
	find src include tests apps bench examples -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf build build-debug build-asan build-bench build-fuzz
