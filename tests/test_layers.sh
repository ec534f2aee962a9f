#!/usr/bin/env bash
# The module order of docs/design.md, checked on the code: which headers each
# module includes (from the source text) and which modules' functions it calls
# (from its object files). tests/run.sh runs it like a test binary:
#   tests/test_layers.sh --list          the cases
#   tests/test_layers.sh CASE            run one (exit 0 pass, 1 fail)
#   tests/test_layers.sh check [ROOT [OBJ]]
#                                        check a tree (default: this one, with
#                                        its objects in $SIMLEARN_BUILD/obj,
#                                        default build/obj) and list every
#                                        problem; exit 1 if there is one
# The cases other than tree_follows_the_table copy the tree, plant one upward
# include, upward call or table error, and expect the check to fail naming it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
source "$here/modules.sh"

# ---- the check ------------------------------------------------------------
# The helpers print tagged lines: "USE MODULE USED-MODULE" for every use
# found, "BAD FILE: PROBLEM" for every problem.

# check ROOT OBJ: prints the problems, returns 1 if there is one.
check() {
    local root=$1 obj=$2 table out
    table=$(modules_table "$root") || return 1
    if [ ! -d "$obj/src" ]; then
        echo "$obj/src: no object files (build the library first)"
        return 1
    fi
    out=$( {
        check_table "$root" "$table"
        include_uses "$root" "$table"
        call_uses "$root" "$obj" "$table"
        check_cli "$root" "$obj"
    } )
    local bad
    bad=$( { printf '%s\n' "$out" | sed -n 's/^BAD //p'; unused_entries "$table" "$out"; } | sort -u)
    if [ -n "$bad" ]; then
        printf '%s\n' "$bad"
        echo "$(printf '%s\n' "$bad" | wc -l) layering problem(s); the module order is the table in docs/design.md"
        return 1
    fi
    return 0
}

# Every listed use is a module listed earlier; every src/ folder has a row.
check_table() {
    local root=$1 table=$2 d m
    printf '%s\n' "$table" | awk -F'\t' '
        { pos[$1] = NR; mods[NR] = $1; uses[NR] = $2 }
        END {
            for (r = 1; r <= NR; r++) {
                n = split(uses[r], u, " ")
                for (i = 1; i <= n; i++)
                    if (!(u[i] in pos)) printf "BAD docs/design.md: %s uses %s, which has no row\n", mods[r], u[i]
                    else if (pos[u[i]] >= r) printf "BAD docs/design.md: %s uses %s, which is not below it\n", mods[r], u[i]
            }
        }'
    for d in "$root"/src/*/; do
        m=$(basename "$d")
        printf '%s\n' "$table" | cut -f1 | grep -qx "$m" || echo "BAD src/$m: no row in the module table of docs/design.md"
    done
}

# The modules MODULE may use, space-padded: itself and its row's list.
allowed() { printf '%s\n' "$1" | awk -F'\t' -v m="$2" '$1 == m { print " " m " " $2 " " }'; }

# Includes of src/MODULE/* and include/simlearn/MODULE.h.
include_uses() {
    local root=$1 table=$2 m f inc u ok rel
    for m in $(printf '%s\n' "$table" | cut -f1); do
        ok=$(allowed "$table" "$m")
        for f in "$root"/src/"$m"/*.c "$root"/src/"$m"/*.h "$root"/include/simlearn/"$m".h; do
            [ -f "$f" ] || continue
            rel=${f#"$root"/}
            while IFS= read -r inc; do
                if ! u=$(include_module "$root" "$m" "$f" "$inc"); then
                    echo "BAD $rel: #include \"$inc\": $u"
                elif [ -n "$u" ]; then
                    if [[ $ok == *" $u "* ]]; then
                        [ "$u" != "$m" ] && echo "USE $m $u"
                    else
                        echo "BAD $rel: #include \"$inc\" uses module $u, which the $m row does not list"
                    fi
                fi
            done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
        done
    done
}

# The module an include names ("" for the shared private headers and a
# module's own), or a problem with status 1.
include_module() {
    local root=$1 m=$2 f=$3 inc=$4 u
    case $inc in
        internal.h | testing.h) echo "" ;;
        simlearn.h) echo "the umbrella header brings in every module (only src/internal.h includes it)"; return 1 ;;
        simlearn/*.h)
            u=${inc#simlearn/}
            u=${u%.h}
            if [ -f "$root/include/simlearn/$u.h" ]; then echo "$u"; else echo "no such public header"; return 1; fi ;;
        */*)
            u=${inc%%/*}
            if [ "$u" = "$m" ]; then echo ""
            elif [ -d "$root/src/$u" ]; then echo "a private header of module $u"; return 1
            else echo "not a simlearn header"; return 1; fi ;;
        *)
            if [[ $f == "$root/src/"* && -f "$(dirname "$f")/$inc" ]]; then echo ""
            else echo "not a simlearn header"; return 1; fi ;;
    esac
}

# Calls: every sl_/sl__ symbol a module's objects take from elsewhere.
call_uses() {
    local root=$1 obj=$2 table=$3 o m
    {
        # "DEF symbol module" for every library object's definitions,
        # "REF object module symbol" for every symbol it takes from elsewhere
        # (nm -A prefixes each line with "path:"; the module is the path's folder)
        nm -A -g --defined-only "$obj"/src/*/*.o | awk -v pre="$obj/src/" '$NF ~ /^sl_/ {
            f = substr($1, length(pre) + 1); sub(/\/.*/, "", f); print "DEF", $NF, f }'
        nm -A -u "$obj"/src/*/*.o | awk -v pre="$obj/" '$NF ~ /^sl_/ {
            f = substr($1, length(pre) + 1); sub(/:$/, "", f); m = f; sub(/^src\//, "", m); sub(/\/.*/, "", m)
            print "REF", "obj/" f, m, $NF }'
        printf '%s\n' "$table" | awk -F'\t' '{ print "ROW", $1, $2 }'
    } | awk '
        $1 == "DEF" { def[$2] = $3; next }
        $1 == "ROW" { ok[$2] = " " $2 " "; for (i = 3; i <= NF; i++) ok[$2] = ok[$2] $i " "; next }
        $1 == "REF" { ref[++n] = $2 " " $3 " " $4 }
        END {
            for (i = 1; i <= n; i++) {
                split(ref[i], r, " ")
                o = r[1]; m = r[2]; s = r[3]; u = def[s]
                if (!(m in ok)) continue
                if (u == "") printf "BAD %s: calls %s, which no library object defines\n", o, s
                else if (index(ok[m], " " u " ")) { if (u != m) printf "USE %s %s\n", m, u }
                else printf "BAD %s: calls %s (module %s), which the %s row does not list\n", o, s, u, m
            }
        }'
}

# Entries of the uses column that nothing uses.
unused_entries() {
    local table=$1 out=$2
    { printf '%s\n' "$out" | grep '^USE '; printf '%s\n' "$table" | awk -F'\t' '{ print "ROW", $1, $2 }'; } | awk '
        $1 == "USE" { used[$2 " " $3] = 1; next }
        { for (i = 3; i <= NF; i++) if (!((($2 " " $i)) in used))
              printf "docs/design.md: the %s row lists %s, but nothing in src/%s or include/simlearn/%s.h uses it\n", $2, $i, $2, $2 }'
}

# cli/ uses the public headers only.
check_cli() {
    local root=$1 obj=$2 f inc o s
    for f in "$root"/cli/*.c "$root"/cli/*.h; do
        [ -f "$f" ] || continue
        while IFS= read -r inc; do
            case $inc in
                cli.h | simlearn.h | simlearn/*.h | commands.inc) ;;
                *) echo "BAD ${f#"$root"/}: #include \"$inc\": cli/ includes only cli.h and the public headers" ;;
            esac
        done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
    done
    ls "$obj"/cli/*.o > /dev/null 2>&1 || return 0
    nm -A -u "$obj"/cli/*.o | awk -v pre="$obj/" '$NF ~ /^sl__/ {
        f = substr($1, length(pre) + 1); sub(/:$/, "", f); print "BAD obj/" f ": calls " $NF ", a private library function" }'
}

# ---- the cases --------------------------------------------------------------

obj_dir() { echo "${SIMLEARN_BUILD:-$top/build}/obj"; }

fail() { echo "FAIL: $*"; exit 1; }

# A copy of the sources and the table in a temporary folder.
copy_tree() {
    local t=$1
    mkdir -p "$t/docs"
    cp -r "$top/src" "$top/include" "$top/cli" "$t/"
    cp "$top/docs/design.md" "$t/docs/"
}

# A copy of the object files.
copy_objs() {
    local t=$1
    mkdir -p "$t"
    cp -r "$(obj_dir)/src" "$(obj_dir)/cli" "$t/"
}

# expect_failure ROOT OBJ TEXT: the check fails and its report contains TEXT.
expect_failure() {
    local out
    if out=$(check "$1" "$2"); then fail "the check passed; expected it to report: $3"; fi
    printf '%s\n' "$out"
    printf '%s\n' "$out" | grep -qF -- "$3" || fail "the report does not contain: $3"
}

case_tree_follows_the_table() {
    check "$top" "$(obj_dir)" || fail "the tree breaks the module order"
}

case_upward_include_fails() {
    copy_tree "$tmp/t"
    printf '#include "simlearn/viz.h"\n' >> "$tmp/t/src/io/npy.c"
    expect_failure "$tmp/t" "$(obj_dir)" 'src/io/npy.c: #include "simlearn/viz.h" uses module viz, which the io row does not list'
}

case_upward_include_in_a_public_header_fails() {
    copy_tree "$tmp/t"
    sed -i 's|#include "simlearn/base.h"|#include "simlearn/base.h"\n#include "simlearn/train.h"|' "$tmp/t/include/simlearn/index.h"
    expect_failure "$tmp/t" "$(obj_dir)" 'include/simlearn/index.h: #include "simlearn/train.h" uses module train'
}

case_private_header_of_another_module_fails() {
    copy_tree "$tmp/t"
    printf '#include "index/index_internal.h"\n' >> "$tmp/t/src/viz/tsne.c"
    expect_failure "$tmp/t" "$(obj_dir)" 'src/viz/tsne.c: #include "index/index_internal.h": a private header of module index'
}

case_upward_call_fails() {
    copy_objs "$tmp/o"
    printf '#include "simlearn.h"\nvoid sl__planted(void);\nvoid sl__planted(void) { sl_hnsw_destroy(NULL); }\n' > "$tmp/planted.c"
    cc -I"$top/include" -c "$tmp/planted.c" -o "$tmp/o/src/tensor/planted.o" || fail "cannot compile the planted call"
    expect_failure "$top" "$tmp/o" 'obj/src/tensor/planted.o: calls sl_hnsw_destroy (module index), which the tensor row does not list'
}

case_cli_calling_a_private_function_fails() {
    copy_objs "$tmp/o"
    printf '#include "simlearn.h"\nvoid sl__planted(void);\nvoid planted(void);\nvoid planted(void) { sl__planted(); }\n' > "$tmp/planted.c"
    cc -I"$top/include" -c "$tmp/planted.c" -o "$tmp/o/cli/planted.o" || fail "cannot compile the planted call"
    expect_failure "$top" "$tmp/o" 'obj/cli/planted.o: calls sl__planted, a private library function'
}

case_table_pointing_up_fails() {
    copy_tree "$tmp/t"
    sed -i 's/^| io     | base |/| io     | base, viz |/' "$tmp/t/docs/design.md"
    expect_failure "$tmp/t" "$(obj_dir)" 'docs/design.md: io uses viz, which is not below it'
}

case_stale_table_entry_fails() {
    copy_tree "$tmp/t"
    sed -i 's/^| geom   | base, tensor |/| geom   | base, io, tensor |/' "$tmp/t/docs/design.md"
    expect_failure "$tmp/t" "$(obj_dir)" 'the geom row lists io, but nothing in src/geom or include/simlearn/geom.h uses it'
}

case_module_without_a_row_fails() {
    copy_tree "$tmp/t"
    mkdir "$tmp/t/src/extra"
    expect_failure "$tmp/t" "$(obj_dir)" 'src/extra: no row in the module table'
}

cases="tree_follows_the_table upward_include_fails upward_include_in_a_public_header_fails
private_header_of_another_module_fails upward_call_fails cli_calling_a_private_function_fails
table_pointing_up_fails stale_table_entry_fails module_without_a_row_fails"

case ${1:-} in
    --list) printf '%s\n' $cases ;;
    check) check "${2:-$top}" "${3:-$(obj_dir)}" ;;
    "") echo "usage: $0 --list | CASE | check [ROOT [OBJ]]" >&2; exit 2 ;;
    *)
        [[ " $(echo $cases) " == *" $1 "* ]] || { echo "unknown case $1" >&2; exit 2; }
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        "case_$1"
        ;;
esac
