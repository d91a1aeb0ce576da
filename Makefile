# The two commands a newcomer needs are `make demo` and `make test`; each installs what is missing first.
JOBS ?= 2
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 60

.PHONY: all deps build test demo forge-demo cubes arena asan bench fuzz install format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

test: build
	ctest --preset default --no-label-summary

demo: build
	./build/apps/eustress-demo

forge-demo: build
	./build/apps/eustress-forge --demo --duration 40

cubes: build
	./build/examples/cubes/eustress-cubes --seconds 20

arena: build
	./build/examples/arena/eustress-arena --seconds 10

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	ctest --preset asan --no-label-summary

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
	rm -rf build build-debug build-asan build-bench
