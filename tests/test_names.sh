#!/usr/bin/env bash
# The conventions of the public API (docs/design.md, "Conventions"), checked
# on the headers and the library. tests/run.sh runs it like a test binary:
#   tests/test_names.sh --list           the cases
#   tests/test_names.sh CASE             run one (exit 0 pass, 1 fail)
#   tests/test_names.sh check [ROOT]     check a tree's headers (default: this
#                                        one) and list every problem
# The declarations come from the compiler (gcc -aux-info on each public
# header), the prefixes from the module table of docs/design.md. Cases ending
# in _fails plant one violation in a copy of the headers and expect the check
# to name it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
source "$here/modules.sh"

# ---- the declarations ---------------------------------------------------------

# decls ROOT WORK: one line per function a public header declares:
#   MODULE<TAB>NAME<TAB>RETURN TYPE<TAB>PARAMETER TYPES
# (include/simlearn.h counts as module "simlearn"). Compile errors go to stderr
# with status 1.
decls() {
    local root=$1 work=$2 h m
    for h in "$root"/include/simlearn/*.h "$root"/include/simlearn.h; do
        m=$(basename "$h" .h)
        printf '#include "%s"\n' "${h#"$root"/include/}" > "$work/one.c"
        cc -I"$root/include" -std=c11 -fsyntax-only -aux-info "$work/one.aux" "$work/one.c" || return 1
        # lines: /* PATH:LINE:NC */ extern RET NAME (PARAMS);
        awk -v path="$h" -v m="$m" '
            index($0, "/* " path ":") == 1 {
                s = $0; sub(/^\/\* [^ ]* \*\/ /, "", s); sub(/^extern /, "", s); sub(/;$/, "", s)
                p = index(s, " ("); head = substr(s, 1, p - 1); params = substr(s, p + 2); sub(/\)$/, "", params)
                n = split(head, w, " "); name = w[n]; ret = ""
                for (i = 1; i < n; i++) ret = ret (i > 1 ? " " : "") w[i]
                while (substr(name, 1, 1) == "*") { name = substr(name, 2); ret = ret "*" }
                printf "%s\t%s\t%s\t%s\n", m, name, ret, params
            }' "$work/one.aux"
    done
}

# ---- the checks -----------------------------------------------------------------

# check ROOT: every rule on the headers of a tree; prints the problems.
check() {
    local root work d table out
    root=$(cd "$1" && pwd)
    work=$(mktemp -d)
    table=$(modules_table "$root") || { rm -rf "$work"; return 1; }
    if ! d=$(decls "$root" "$work"); then
        rm -rf "$work"
        echo "the public headers do not compile on their own"
        return 1
    fi
    out=$( {
        check_prefixes "$table" "$d"
        check_configs "$root" "$d"
        check_destructors "$root" "$d"
        check_stop "$root"
    } | sort -u)
    rm -rf "$work"
    if [ -n "$out" ]; then
        printf '%s\n' "$out"
        echo "$(printf '%s\n' "$out" | wc -l) naming problem(s); the rules are in docs/design.md, Conventions"
        return 1
    fi
}

# Names: sl_<prefix> or sl_<prefix>_<rest>, the prefix one of the declaring
# module's; no other module's prefix may also fit; one declaration per name;
# every listed prefix in use; nothing declared in the umbrella header.
check_prefixes() {
    local table=$1 d=$2
    { printf '%s\n' "$table" | awk -F'\t' '{ print "ROW\t" $1 "\t" $3 }'; printf '%s\n' "$d" | awk -F'\t' '{ print "FN\t" $1 "\t" $2 }'; } | awk -F'\t' '
        $1 == "ROW" { n = split($3, p, " "); for (i = 1; i <= n; i++) { owner[p[i]] = owner[p[i]] " " $2; pre[$2 " " p[i]] = 1 } next }
        $1 == "FN" {
            m = $2; f = $3
            if (f in where) { printf "%s is declared in both simlearn/%s.h and simlearn/%s.h\n", f, where[f], m; next }
            where[f] = m
            if (m == "simlearn") { printf "include/simlearn.h declares %s: functions belong in a module header\n", f; next }
            if (f !~ /^sl_[a-z0-9]/) { printf "simlearn/%s.h: %s does not start with sl_ and a prefix\n", m, f; next }
            rest = substr(f, 4); mine = ""; others = ""
            for (k in owner) if (rest == k || index(rest, k "_") == 1) {
                if ((m " " k) in pre) { mine = k; used[m " " k] = 1 } else others = others owner[k] "." k
            }
            if (mine == "") printf "simlearn/%s.h: %s has none of the %s prefixes (docs/design.md)%s\n", m, f, m, others == "" ? "" : "; it fits" others
            else if (others != "") printf "simlearn/%s.h: %s also fits the prefix of%s\n", m, f, others
        }
        END { for (k in pre) if (!(k in used)) { split(k, a, " "); printf "docs/design.md: the %s row lists the prefix %s, but no %s function uses it\n", a[1], a[2], a[1] } }'
}

# Defaults: every sl_X_config struct has void sl_X_config_default(sl_X_config *, ...),
# every such function fills its struct, and tests/test_api.c calls each.
check_configs() {
    local root=$1 d=$2 s f
    for s in $(sed -n 's/^typedef struct \(sl_[a-z0-9_]*_config\) {.*/\1/p' "$root"/include/simlearn/*.h | sort -u); do
        printf '%s\n' "$d" | awk -F'\t' -v f="${s}_default" '$2 == f { found = 1 } END { exit !found }' ||
            echo "$s has no ${s}_default(${s} *c) to fill it with the defaults"
    done
    printf '%s\n' "$d" | awk -F'\t' '$2 ~ /_default$/ {
        s = $2; sub(/_default$/, "", s)
        if (s !~ /_config$/) printf "%s: defaults come from sl_<x>_config_default\n", $2
        else if ($3 != "void" || index($4, s " *") != 1) printf "%s: expected void %s(%s *c, ...), got %s %s(%s)\n", $2, $2, s, $3, $2, $4
    }'
    for f in $(printf '%s\n' "$d" | awk -F'\t' '$2 ~ /_config_default$/ { print $2 }'); do
        grep -q "\b$f(" "$root/tests/test_api.c" 2> /dev/null || echo "tests/test_api.c does not check $f"
    done
}

# Destructors: one verb, _destroy, taking the object and returning nothing;
# tests/test_api.c calls each with NULL. Memory the library hands out is
# released with sl_allocator_free; an atomic file ends with sl_afile_commit or
# sl_afile_abort.
check_destructors() {
    local root=$1 d=$2 f
    printf '%s\n' "$d" | awk -F'\t' '
        $2 ~ /_(close|free|release|dispose|delete_all|fini|deinit|finalize)$/ && $2 != "sl_allocator_free" {
            printf "simlearn/%s.h: %s: the one destructor verb is _destroy\n", $1, $2 }
        $2 ~ /_destroy$/ && ($3 != "void" || $4 ~ /,/ || $4 !~ /\*$/) {
            printf "simlearn/%s.h: %s: expected void %s(T *), got %s %s(%s)\n", $1, $2, $2, $3, $2, $4 }'
    for f in $(printf '%s\n' "$d" | awk -F'\t' '$2 ~ /_destroy$/ || $2 == "sl_afile_abort" || $2 == "sl_allocator_free" { print $2 }'); do
        grep -q "\b$f(NULL)" "$root/tests/test_api.c" 2> /dev/null || echo "tests/test_api.c does not call $f(NULL)"
    done
}

# Interruption: a stop flag is always `const volatile sig_atomic_t *stop`.
check_stop() {
    local root=$1
    grep -n 'sig_atomic_t' "$root"/include/simlearn/*.h | grep -v '^[^:]*:[0-9]*:#include' |
        grep -v 'const volatile sig_atomic_t \*stop[;,)]' |
        sed "s|^$root/||; s|^\([^:]*:[0-9]*\):.*|\1: a stop flag is spelt \`const volatile sig_atomic_t *stop\`|"
}

# The library exports exactly the declared API (plus private sl__ names).
# AddressSanitizer adds an ODR indicator (__odr_asan.NAME) for each exported
# variable; those belong to the sanitizer, not to the API.
check_exports() {
    local root=$1 lib=$2 work d
    work=$(mktemp -d)
    d=$(decls "$root" "$work") || { rm -rf "$work"; echo "the public headers do not compile"; return 1; }
    rm -rf "$work"
    [ -f "$lib" ] || { echo "$lib: not built"; return 1; }
    local out
    out=$( { printf '%s\n' "$d" | awk -F'\t' '{ print "DECL", $2 }'; nm -g --defined-only "$lib" | awk 'NF == 3 && $3 !~ /^__odr_asan[.]/ { print "SYM", $3 }'; } | awk '
        $1 == "DECL" { decl[$2] = 1; next }
        { sym[$2] = 1
          if ($2 !~ /^sl_/) printf "the library exports %s, which lacks the sl_ prefix\n", $2
          else if ($2 !~ /^sl__/ && !($2 in decl)) printf "the library exports %s, which no public header declares (make it static or sl__)\n", $2 }
        END { for (f in decl) if (!(f in sym)) printf "%s is declared but the library does not define it\n", f }' | sort -u)
    if [ -n "$out" ]; then printf '%s\n' "$out"; return 1; fi
}

# ---- the cases ------------------------------------------------------------------

fail() { echo "FAIL: $*"; exit 1; }

copy_tree() {
    mkdir -p "$1/docs" "$1/tests"
    cp -r "$top/include" "$1/"
    cp "$top/docs/design.md" "$1/docs/"
    cp "$top/tests/test_api.c" "$1/tests/"
}

expect_failure() {
    local out
    if out=$(check "$1"); then fail "the check passed; expected it to report: $2"; fi
    printf '%s\n' "$out"
    printf '%s\n' "$out" | grep -qF -- "$2" || fail "the report does not contain: $2"
}

# Add declarations to a header, before its closing extern "C" block.
plant() {
    awk -v add="$2" '/^#ifdef __cplusplus$/ && ++c == 2 { print add } { print }' "$1" > "$1.new" && mv "$1.new" "$1"
}

case_headers_follow_the_rules() { check "$top" || fail "the public headers break the conventions"; }

case_library_exports_only_the_api() {
    check_exports "$top" "${SIMLEARN_BUILD:-$top/build}/libsimlearn.a" || fail "the library's exports differ from the headers"
}

case_verb_first_name_fails() {
    copy_tree "$tmp/t"
    plant "$tmp/t/include/simlearn/index.h" 'void sl_get_index_count(void);'
    expect_failure "$tmp/t" 'simlearn/index.h: sl_get_index_count has none of the index prefixes'
}

case_other_modules_prefix_fails() {
    copy_tree "$tmp/t"
    plant "$tmp/t/include/simlearn/viz.h" 'void sl_hnsw_draw(void);'
    expect_failure "$tmp/t" 'simlearn/viz.h: sl_hnsw_draw has none of the viz prefixes'
}

case_close_destructor_fails() {
    copy_tree "$tmp/t"
    plant "$tmp/t/include/simlearn/data.h" 'void sl_batcher_close(sl_batcher *b);'
    expect_failure "$tmp/t" 'sl_batcher_close: the one destructor verb is _destroy'
}

case_untested_destructor_fails() {
    copy_tree "$tmp/t"
    plant "$tmp/t/include/simlearn/data.h" 'void sl_shapes_destroy(sl_dataset *d);'
    expect_failure "$tmp/t" 'tests/test_api.c does not call sl_shapes_destroy(NULL)'
}

case_config_without_defaults_fails() {
    copy_tree "$tmp/t"
    plant "$tmp/t/include/simlearn/geom.h" 'typedef struct sl_geom_config {
    int x;
} sl_geom_config;'
    expect_failure "$tmp/t" 'sl_geom_config has no sl_geom_config_default(sl_geom_config *c)'
}

case_defaults_by_value_fail() {
    copy_tree "$tmp/t"
    sed -i 's/^void sl_flat_config_default(sl_flat_config \*c);/sl_flat_config sl_flat_config_default(void);/' "$tmp/t/include/simlearn/index.h"
    expect_failure "$tmp/t" 'sl_flat_config_default: expected void sl_flat_config_default(sl_flat_config *c, ...)'
}

case_other_stop_spelling_fails() {
    copy_tree "$tmp/t"
    sed -i 's/const volatile sig_atomic_t \*stop;/const volatile sig_atomic_t *interrupt;/' "$tmp/t/include/simlearn/train.h"
    expect_failure "$tmp/t" 'include/simlearn/train.h:'
}

case_undeclared_export_fails() {
    printf 'void sl_undeclared(void);\nvoid sl_undeclared(void) {}\nint helper(void);\nint helper(void) { return 1; }\n' > "$tmp/x.c"
    cc -c "$tmp/x.c" -o "$tmp/x.o" && ar rcs "$tmp/libx.a" "$tmp/x.o" || fail "cannot build the planted library"
    local out
    if out=$(check_exports "$top" "$tmp/libx.a"); then fail "the check passed on a library that exports the wrong names"; fi
    printf '%s\n' "$out" | head -5
    printf '%s\n' "$out" | grep -qF 'the library exports sl_undeclared, which no public header declares' || fail "sl_undeclared not reported"
    printf '%s\n' "$out" | grep -qF 'the library exports helper, which lacks the sl_ prefix' || fail "helper not reported"
    printf '%s\n' "$out" | grep -qF 'sl_hnsw_search is declared but the library does not define it' || fail "missing definitions not reported"
}

cases="headers_follow_the_rules library_exports_only_the_api undeclared_export_fails verb_first_name_fails other_modules_prefix_fails
close_destructor_fails untested_destructor_fails config_without_defaults_fails defaults_by_value_fail
other_stop_spelling_fails"

case ${1:-} in
    --list) printf '%s\n' $cases ;;
    check) check "${2:-$top}" && check_exports "${2:-$top}" "${SIMLEARN_BUILD:-$top/build}/libsimlearn.a" ;;
    "") echo "usage: $0 --list | CASE | check [ROOT]" >&2; exit 2 ;;
    *)
        [[ " $(echo $cases) " == *" $1 "* ]] || { echo "unknown case $1" >&2; exit 2; }
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        "case_$1"
        ;;
esac
