#!/usr/bin/env bash
# Installed like any tool (issue 10). `cmake --install` into a temporary prefix puts there the
# binary, its man page and its bash completion, and nothing else; the installed mdfetch prints
# the project's version; the man page renders without a warning; the completion registers and
# completes; the .deb cpack makes holds the same files and declares the packages of every
# shared library the binary needs.
# Usage: tests/install_test.sh BUILD_DIR VERSION       (ctest's Install: all of it)
#        tests/install_test.sh --deb FILE.deb VERSION  (scripts/package: the .deb only)
set -eEuo pipefail
# A command that fails under set -e says which, instead of ending the test without a word.
trap 'echo "install_test: line $LINENO failed (status $?): $BASH_COMMAND" >&2' ERR

fail() {
  echo "install_test: $*" >&2
  exit 1
}

expect_eq() {  # what, got, expected
  [[ "$2" == "$3" ]] || fail "$1: got '$2', expected '$3'"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check_installed_files() {
  local prefix=$1 version=$2
  expect_eq "installed files" "$(cd "$prefix" && find . -type f -o -type l | sort)" \
    "./bin/mdfetch
./lib/mdfetch/mdfetch-net.so
./share/bash-completion/completions/mdfetch
./share/man/man1/mdfetch.1"
  expect_eq "installed mdfetch --version" "$("$prefix/bin/mdfetch" --version)" "mdfetch $version"
  check_http_module "$prefix/bin/mdfetch"
}

# The binary finds its HTTP module (lib/mdfetch/mdfetch-net.so, loaded by the commands that
# speak HTTP) where it was installed: a refresh against the built-in simulator stores a series.
check_http_module() {
  local mdfetch=$1 work
  work=$(mktemp -d -p "$tmp")
  echo IBM >"$work/symbols.txt"
  (cd "$work" && "$mdfetch" refresh --sim --quiet --symbols symbols.txt --db "$work/m.db") ||
    fail "$mdfetch refresh --sim failed"
  expect_eq "$mdfetch list after refresh --sim" \
    "$("$mdfetch" list --db "$work/m.db" --format csv | cut -d, -f1,2 | sed -n 2p)" "IBM,daily"
}

check_man_page() {
  local page=$1 warnings
  grep -q '^\.TH MDFETCH 1 "" "mdfetch '"$2"'"' "$page" || fail "$page: no .TH with the version"
  warnings=$(groff -man -Tutf8 -ww -P-cbou "$page" 2>&1 >"$tmp/man.txt")
  expect_eq "groff warnings for $page" "$warnings" ""
  # Debian renders \- as the ASCII hyphen-minus: options copy and paste as typed.
  grep -q -- '--api-key-file FILE' "$tmp/man.txt" || fail "$page: no '--api-key-file FILE'"
  for section in NAME SYNOPSIS DESCRIPTION COMMANDS ENVIRONMENT FILES 'EXIT STATUS' EXAMPLES; do
    grep -q "^$section\$" "$tmp/man.txt" || fail "$page: no $section section"
  done
  if command -v man >/dev/null; then
    warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
    expect_eq "man -l warnings for $page" "$warnings" ""
  fi
}

# Drives the completion like bash does on <TAB>: COMP_WORDS and COMP_CWORD set, the function
# `complete -p` names called with the command, the word and the one before; prints COMPREPLY.
completes() {
  local script=$1
  shift
  bash -c '
    source "$1"
    shift
    spec=$(complete -p mdfetch) || exit 1
    function=${spec#*-F }
    function=${function%% *}
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    "$function" mdfetch "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@"
}

check_completion() {
  local script=$1
  expect_eq "complete -p mdfetch" "$(bash -c 'source "$1"; complete -p mdfetch' _ "$script")" \
    "complete -F _mdfetch mdfetch"
  expect_eq "mdfetch ref<TAB>" "$(completes "$script" mdfetch ref)" "refresh"
  expect_eq "mdfetch help ex<TAB>" "$(completes "$script" mdfetch help ex)" "export"
  expect_eq "mdfetch --ver<TAB>" "$(completes "$script" mdfetch --ver)" "--version"
  expect_eq "mdfetch refresh --func<TAB>" "$(completes "$script" mdfetch refresh --func)" \
    "--function"
  expect_eq "mdfetch refresh --function week<TAB>" \
    "$(completes "$script" mdfetch refresh --function week)" $'weekly\nweekly_adjusted'
  expect_eq "mdfetch query IBM --format c<TAB>" \
    "$(completes "$script" mdfetch query IBM --format c)" "csv"
  expect_eq "mdfetch plan --format=j<TAB>" "$(completes "$script" mdfetch plan --format = j)" \
    "json"
  expect_eq "mdfetch fetch X --interval 1<TAB>" \
    "$(completes "$script" mdfetch fetch X --interval 1)" $'1min\n15min'
  expect_eq "mdfetch sim --port <TAB>" "$(completes "$script" mdfetch sim --port '')" ""
  mkdir -p "$tmp/cwd" && touch "$tmp/cwd/symbols.txt"
  expect_eq "mdfetch refresh --symbols sym<TAB>" \
    "$(cd "$tmp/cwd" && completes "$script" mdfetch refresh --symbols sym)" "symbols.txt"
}

check_deb() {
  local deb=$1 version=$2 arch
  arch=$(dpkg --print-architecture)
  expect_eq "package file name" "$(basename "$deb")" "mdfetch_${version}_${arch}.deb"
  expect_eq "$deb: files" "$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sort)" \
    "./usr/bin/mdfetch
./usr/lib/mdfetch/mdfetch-net.so
./usr/share/bash-completion/completions/mdfetch
./usr/share/man/man1/mdfetch.1"
  expect_eq "$deb: Package" "$(dpkg-deb -f "$deb" Package)" "mdfetch"
  expect_eq "$deb: Version" "$(dpkg-deb -f "$deb" Version)" "$version"
  expect_eq "$deb: Architecture" "$(dpkg-deb -f "$deb" Architecture)" "$arch"
  local depends library path package
  depends=", $(dpkg-deb -f "$deb" Depends)"
  [[ $depends == *", ca-certificates"* ]] || fail "$deb: Depends lacks ca-certificates: $depends"
  # libpq is loaded with dlopen for a PostgreSQL store (src/pg_conn.cc): recommended, and
  # not needed by the binary; nor are cpp-httplib and OpenSSL (in mdfetch-net.so, loaded by
  # the commands that speak HTTP): a read command loads none of them at start.
  expect_eq "$deb: Recommends" "$(dpkg-deb -f "$deb" Recommends)" "libpq5"
  rm -rf "$tmp/deb" && dpkg-deb -x "$deb" "$tmp/deb"
  if readelf -d "$tmp/deb/usr/bin/mdfetch" | grep -E 'NEEDED.*(libpq|httplib|libssl|libcrypto)'; then
    fail "$deb: mdfetch needs these at start (they belong to the PostgreSQL store or mdfetch-net.so)"
  fi
  # Every shared library the binary and its HTTP module need comes from a package the .deb
  # depends on.
  for library in $(readelf -d "$tmp/deb/usr/bin/mdfetch" "$tmp/deb/usr/lib/mdfetch/mdfetch-net.so" |
    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u); do
    # awk reads to the end: an early exit would kill ldconfig with SIGPIPE (status 141).
    path=$(ldconfig -p | awk -v l="$library" '$1 == l && path == "" {path = $NF} END {print path}')
    [[ -n $path ]] || fail "$library: not found by ldconfig"
    package=""
    # Merged /usr: dpkg may know the library under /lib or /usr/lib, by its link or its file.
    for candidate in "$path" "$(readlink -f "$path")" "/usr$path" "${path#/usr}"; do
      package=$(dpkg -S "$candidate" 2>/dev/null | sed -n '1s/:.*//p') && [[ -n $package ]] &&
        break
    done
    [[ -n $package ]] || fail "$library ($path): no package owns it"
    [[ $depends == *", $package "* || $depends == *", $package," || $depends == *", $package" ]] ||
      fail "$deb: Depends lacks $package (for $library): $depends"
  done
  expect_eq "$deb: packaged mdfetch --version" "$("$tmp/deb/usr/bin/mdfetch" --version)" \
    "mdfetch $version"
  check_http_module "$tmp/deb/usr/bin/mdfetch"
  check_man_page "$tmp/deb/usr/share/man/man1/mdfetch.1" "$version"
  check_completion "$tmp/deb/usr/share/bash-completion/completions/mdfetch"
}

if [[ "${1:-}" == "--deb" ]]; then
  check_deb "$2" "$3"
  echo "install_test: $2 checked"
  exit 0
fi

build=$1 version=$2
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
check_installed_files "$tmp/prefix" "$version"
check_man_page "$tmp/prefix/share/man/man1/mdfetch.1" "$version"
check_completion "$tmp/prefix/share/bash-completion/completions/mdfetch"

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/package" >"$tmp/cpack.log" 2>&1 ||
  fail "cpack failed: $(cat "$tmp/cpack.log")"
check_deb "$tmp/package/mdfetch_${version}_$(dpkg --print-architecture).deb" "$version"
echo "install_test: cmake --install and the .deb checked"
