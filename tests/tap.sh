# tap.sh — sourced by the bash tests of kanvas-cli (test-cli.sh, test-limits.sh): the CLI
# argument, a temporary folder to work in, and one TAP line per check.
#
#   . "$(dirname "$0")/tap.sh"; tap_begin NAME "$@"   … checks …   tap_end
#
# tap_begin sets CLI (made absolute) from the first argument, makes a temporary folder
# kanvas-NAME.XXXXXX, removed on exit, and goes there. pass DESCRIPTION, skip DESCRIPTION WHY
# and fail DESCRIPTION [DETAIL…] print "ok N - …" / "not ok N - …"; tap_end prints the plan
# and exits non-zero if any check failed.

n=0
failed=0

tap_begin () {
  CLI=${2:?usage: $(basename "$0") /path/to/kanvas-cli}
  case $CLI in /*) ;; *) CLI=$PWD/$CLI ;; esac
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/kanvas-$1.XXXXXX") || exit 1
  trap 'rm -rf "$TMP"' EXIT
  cd "$TMP" || exit 1
}

pass () { n=$((n + 1)); echo "ok $n - $1"; }
skip () { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
fail () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

tap_end () {
  echo "1..$n"
  if [ "$failed" -ne 0 ]; then
    echo "# $failed of $n checks failed"
    exit 1
  fi
  echo "# all $n checks passed"
}
