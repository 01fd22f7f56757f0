# secai — build rules.
#
#   make                 every program into build/ (gcc, -O2 -g, warnings are errors)
#   make check           clang ASan+UBSan build in build/asan/, then every test (scripts/run-tests.sh)
#   make fuzz            libFuzzer harnesses in build/fuzz/, each run FUZZ_SECONDS (default 30)
#   make bench           every bench/*/run.sh (prints ratios; never fails the build)
#   make install PREFIX=/usr/local
#   make deps            install missing Debian packages (scripts/deps.sh)
#
# Layout the rules follow (add files, not rules):
#   src/lib/**.c             -> $(BUILD)/libsecai.a, linked into everything
#   src/securectl/*.c        -> $(BUILD)/securectl
#   src/<name>/*.c           -> $(BUILD)/secai-<name>   (when src/<name>/main.c exists)
#   src/infer/*.c but main.c, srv_*.c -> the inference engine, linked into securectl too
#   tools/<name>.c           -> $(BUILD)/tools/<name>   (generators used by tests and `up`)
#   tests/<dir>/test_*.c     -> $(BUILD)/tests/<dir>/test_*  (cmocka; links src/<dir>/*.c but main.c)
#   fuzz/fuzz_<name>.c       -> build/fuzz/fuzz_<name>  (libFuzzer; seeds in fuzz/corpus/<name>/)
#   bench/<name>/*.c         -> $(BUILD)/bench/<name>/<file>

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
SAN     ?=
FUZZ_SECONDS ?= 30

PKGS    := openssl libsodium libmicrohttpd libcurl yaml-0.1 jansson libseccomp zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wformat=2 -Wno-format-truncation
ifneq (,$(findstring clang,$(shell $(CC) --version 2>/dev/null)))
WARN    += -Wno-unknown-warning-option
endif
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -Isrc/lib -Isrc $(PKG_CFLAGS) -MMD -MP
LDLIBS  := $(PKG_LIBS) -lpthread -lm

ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=address,undefined
endif
ifeq ($(SAN),fuzz)
ALL_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -DSECAI_FUZZ
endif

LIB_SRC   := $(filter-out $(LIB_EXCLUDE),$(shell find src/lib -name '*.c' | sort))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_A     := $(BUILD)/libsecai.a

PROG_DIRS := $(filter-out lib,$(notdir $(patsubst %/main.c,%,$(wildcard src/*/main.c))))
# The inference engine (src/infer/ but main.c) is linked into securectl too (`securectl run`),
# and into secai-quarantine and its tests (the behavioural test, stage 6).
ENGINE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out %/main.c src/infer/srv_%.c,$(wildcard src/infer/*.c)))
prog_name  = $(if $(filter securectl,$(1)),securectl,secai-$(1))
PROGS     := $(foreach d,$(PROG_DIRS),$(BUILD)/$(call prog_name,$(d)))

TOOL_SRC  := $(wildcard tools/*.c)
TOOLS     := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)

TEST_SRC  := $(shell find tests -name 'test_*.c' | sort)
TESTS     := $(TEST_SRC:%.c=$(BUILD)/%)

BENCH_SRC := $(wildcard bench/*/*.c)
BENCHES   := $(BENCH_SRC:%.c=$(BUILD)/%)

FUZZ_SRC  := $(wildcard fuzz/fuzz_*.c)

.SECONDARY:
.PHONY: all tests check fuzz fuzz-build bench install deps clean format up
all: $(PROGS) $(TOOLS) $(BENCHES)
tests: all $(TESTS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# One program per folder of src/.
define PROG_template
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/obj/%.o,$$(sort $$(wildcard src/$(1)/*.c)))
$(1)_OBJ += $(if $(filter securectl quarantine,$(1)),$(ENGINE_OBJ))
$(BUILD)/$(call prog_name,$(1)): $$($(1)_OBJ) $(LIB_A)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach d,$(PROG_DIRS),$(eval $(call PROG_template,$(d))))

$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A test in tests/<dir>/ links the non-main objects of src/<dir>/ when that folder is a program.
.SECONDEXPANSION:
test_dir_objs = $(if $(filter lib,$(word 2,$(subst /, ,$(1)))),,$(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out %/main.c,$(wildcard src/$(word 2,$(subst /, ,$(1)))/*.c)))) $(if $(filter quarantine,$(word 2,$(subst /, ,$(1)))),$(ENGINE_OBJ))
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $$(call test_dir_objs,tests/$$*) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB_A) $(LDLIBS) -lcmocka

# check and up build on every core (JOBS=1 for a serial build); tests run one at a time.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)

check:
	@./scripts/deps.sh
	@./scripts/sdk-deps.sh
	$(MAKE) -j$(JOBS) all
	$(MAKE) -j$(JOBS) BUILD=build/asan CC=clang SAN=1 tests
	$(MAKE) -j$(JOBS) fuzz-build
	./scripts/run-tests.sh build/asan

fuzz-build:
	$(MAKE) BUILD=build/fuzz CC=clang SAN=fuzz $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)

build/fuzz/fuzz_%: build/fuzz/obj/fuzz/fuzz_%.o $(ENGINE_OBJ) build/fuzz/libsecai.a
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)
# A harness of code that lives in a program's folder links those objects too (before the library).
build/fuzz/fuzz_behav_score: build/fuzz/obj/fuzz/fuzz_behav_score.o build/fuzz/obj/src/quarantine/behav.o \
		build/fuzz/obj/src/quarantine/behav_http.o $(ENGINE_OBJ) build/fuzz/libsecai.a
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

fuzz: fuzz-build
	./scripts/run-fuzz.sh $(FUZZ_SECONDS)

bench: all
	@for r in bench/*/run.sh; do echo "== $$r"; BUILD=$(BUILD) sh $$r || echo "bench $$r: failed (benches never fail the build)"; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/secai
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/secai/
	install -d $(DESTDIR)$(PREFIX)/share/secai/behavioral $(DESTDIR)$(PREFIX)/share/secai/qubes/policy.d $(DESTDIR)$(PREFIX)/share/secai/qubes/rpc
	install -m 0644 data/behavioral/prompts.json $(DESTDIR)$(PREFIX)/share/secai/behavioral/
	install -m 0644 deploy/qubes/policy.d/*.policy $(DESTDIR)$(PREFIX)/share/secai/qubes/policy.d/
	install -m 0755 deploy/qubes/rpc/* $(DESTDIR)$(PREFIX)/share/secai/qubes/rpc/

deps:
	./scripts/deps.sh

# The README's first command: the appliance on its embedded defaults, in the foreground.
up:
	@./scripts/deps.sh
	$(MAKE) -j$(JOBS) all
	./build/securectl up

format:
	clang-format -i $$(find src tests fuzz bench tools -name '*.[ch]' 2>/dev/null)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
