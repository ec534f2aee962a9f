#!/bin/sh
# Builds the GCIDE word-vector corpus from Debian's dict-gcide, one line per
# dictionary paragraph, lowercase a-z words only (the R2 benchmark corpus).
# Usage: scripts/corpus-gcide.sh [IN=/usr/share/dictd/gcide.dict.dz] [OUT=gcide.txt]
# Steps, in order, on each blank-line-separated paragraph:
#   drop \pro*nun"ci*a`tion\ markup; drop source tags ([1913 Webster],
#   [WordNet 1.5 ...], [PJC], [Century ...]); turn accent codes (['e], [ae])
#   into their letters; lowercase; drop tokens holding a digit; turn every
#   other character outside a-z into a space; squeeze and trim spaces.
set -eu
IN=${1:-/usr/share/dictd/gcide.dict.dz}
OUT=${2:-gcide.txt}
if [ ! -r "$IN" ]; then
  echo "corpus-gcide.sh: $IN not found; install it with: scripts/deps.sh data" >&2
  exit 1
fi
TMP="$OUT.tmp.$$"
trap 'rm -f "$TMP"' EXIT
zcat -S .dz "$IN" | perl -00 -ne '
  s/\\[^\\\n]*\\//g;
  s/\[(?:[^\]\n]*Webster[^\]\n]*|WordNet[^\]\n]*|PJC|Century[^\]\n]*)\]//g;
  s/\[[\x27`"^~=:.,\-]?([a-zA-Z]{1,2})\]/$1/g;
  $_ = lc $_;
  s/\S*[0-9]\S*/ /g;
  s/[^a-z]+/ /g;
  s/^ +| +$//g;
  print "$_\n" if length $_;
' > "$TMP"
mv "$TMP" "$OUT"
trap - EXIT
echo "corpus-gcide.sh: wrote $OUT ($(wc -c < "$OUT") bytes, $(wc -l < "$OUT") lines)" >&2
