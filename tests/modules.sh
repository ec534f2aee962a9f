# The module table of docs/design.md, for the checks that read it
# (tests/test_layers.sh, tests/test_names.sh). Sourced, not run.
#
# modules_table ROOT prints one line per library module, lowest first:
#   MODULE<TAB>USES<TAB>PREFIXES
# USES and PREFIXES are space-separated (USES is empty for base). The `cli`
# row is left out: its rule is fixed (the public headers only). Fails with a
# message when the table is missing or a row is malformed.
modules_table() {
    awk -F'|' '
        /<!-- module table/ { on = 1; next }
        on && /^\|/ {
            seen = 1
            m = $2; gsub(/[ `]/, "", m)
            if (m == "module" || m ~ /^-+$/ || m == "cli") next
            if (NF < 5 || m !~ /^[a-z]+$/) { print "docs/design.md: malformed module row: " $0 > "/dev/stderr"; bad = 1; exit }
            uses = ""
            n = split($3, w, /[^a-z]+/)
            for (i = 1; i <= n; i++) if (w[i] != "") uses = uses (uses == "" ? "" : " ") w[i]
            pre = ""
            n = split($4, w, /`/)
            for (i = 2; i <= n; i += 2) pre = pre (pre == "" ? "" : " ") w[i]
            printf "%s\t%s\t%s\n", m, uses, pre
            rows++
            next
        }
        on && seen { exit }
        END {
            if (bad) exit 1
            if (!rows) { print "docs/design.md: no module table (<!-- module table ... --> then | module | uses | prefixes |)" > "/dev/stderr"; exit 1 }
        }' "$1/docs/design.md"
}
