#!/usr/bin/env bash
# Fetches llama.cpp's llama-server from Debian sid (package llama.cpp-tools) and the shared
# libraries it needs, unpacked with `dpkg -x` into a folder (nothing is installed), and writes a
# launcher next to them. Prints the launcher's path on stdout; progress goes to stderr.
#
#   scripts/fetch-llama-server.sh [DIR]     DIR defaults to .cache/llama-server (git-ignored)
#
# sid's build needs a newer C library than stable releases ship, so the launcher starts the
# binary with sid's own dynamic loader and libraries (ld-linux-x86-64.so.2 --library-path ...),
# which works on any x86-64 Linux whatever its libc. ggml looks for its CPU backends in the
# absolute /usr/lib/... path it was built with, so the launcher names one of the unpacked
# backends in GGML_BACKEND_PATH, the best one this CPU runs.
#
# The test test/llama-server.test.ts uses DIR/llama-server (or
# $LLAMA_SERVER). Exits non-zero, with a message, when the mirror cannot be reached.
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SUITE (default sid),
# FETCH_WITH_CURL=1 (read the Packages index with curl even where apt-get exists).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${1:-$ROOT/.cache/llama-server}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=${DEBIAN_SUITE:-sid}
# llama-server and what it links: llama.cpp's and ggml's libraries, sid's C and C++ runtimes
# (its binaries need glibc >= 2.43), OpenMP, OpenSSL and zlib.
PACKAGES=(llama.cpp-tools libllama0 libggml0 libc6 libstdc++6 libgcc-s1 libgomp1 libssl3t64 zlib1g)

log() { printf '%s\n' "$*" >&2; }
die() { log "fetch-llama-server: $*"; exit 1; }

LAUNCHER=$DEST/llama-server
if [ -x "$LAUNCHER" ] && "$LAUNCHER" --version >/dev/null 2>&1; then
  echo "$LAUNCHER"
  exit 0
fi

[ "$(uname -m)" = x86_64 ] || die "only x86-64 is supported (this machine is $(uname -m))"
command -v dpkg >/dev/null || die "dpkg is needed to unpack the packages"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/debs"

# Either apt-get with a private sources list and state (the machine's own apt setup is left
# alone), or, without apt-get, the Packages index read with curl.
fetch_with_apt() {
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$keyring" ] || return 1
  mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial"
  echo "deb [signed-by=$keyring] $MIRROR $SUITE main" >"$WORK/apt/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$WORK/apt/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$WORK/apt/lists"
    -o "Dir::Cache=$WORK/apt/cache" -o Dir::State::status=/dev/null -o APT::Sandbox::User=root -o Acquire::Retries=2 -o Acquire::http::Timeout=30)
  log "reading the $SUITE package index from $MIRROR ..."
  apt-get "${opts[@]}" -qq --error-on=any update >&2 || return 1
  log "downloading ${PACKAGES[*]} ..."
  (cd "$WORK/debs" && apt-get "${opts[@]}" -qq download "${PACKAGES[@]}" >&2) || return 1
}

fetch_with_curl() {
  command -v curl >/dev/null && command -v xz >/dev/null || return 1
  log "reading $MIRROR/dists/$SUITE/main/binary-amd64/Packages.xz ..."
  curl -fsSL --retry 2 --max-time 300 "$MIRROR/dists/$SUITE/main/binary-amd64/Packages.xz" | xz -d >"$WORK/Packages" || return 1
  local pkg file
  for pkg in "${PACKAGES[@]}"; do
    file=$(awk -v p="$pkg" '/^Package: /{ok=($2==p)} ok&&/^Filename: /{print $2; exit}' "$WORK/Packages")
    [ -n "$file" ] || { log "no $pkg in the index"; return 1; }
    log "downloading $file ..."
    curl -fsSL --retry 2 --max-time 300 -o "$WORK/debs/$(basename "$file")" "$MIRROR/$file" || return 1
  done
}

if [ -z "${FETCH_WITH_CURL:-}" ] && command -v apt-get >/dev/null && fetch_with_apt; then :
elif rm -f "$WORK"/debs/* && fetch_with_curl; then :
else die "could not download ${PACKAGES[*]} from $MIRROR ($SUITE); is the mirror reachable?"
fi

rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp/root"
: >"$DEST.tmp/versions.txt"
for deb in "$WORK"/debs/*.deb; do
  dpkg -x "$deb" "$DEST.tmp/root"
  dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb" >>"$DEST.tmp/versions.txt"
done
LIB=$DEST.tmp/root/usr/lib/x86_64-linux-gnu
[ -x "$DEST.tmp/root/usr/bin/llama-server" ] || die "llama.cpp-tools has no usr/bin/llama-server"
[ -e "$LIB/ld-linux-x86-64.so.2" ] || die "libc6 has no ld-linux-x86-64.so.2"
[ -d "$LIB/ggml/backends0" ] || die "libggml0 has no ggml/backends0 folder of CPU backends"

cat >"$DEST.tmp/llama-server" <<'EOF'
#!/usr/bin/env bash
# llama-server from Debian sid, run with sid's loader and libraries (see scripts/fetch-llama-server.sh).
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/root/usr/lib/x86_64-linux-gnu
BACKENDS=$LIB/ggml/backends0
if [ -z "${GGML_BACKEND_PATH:-}" ]; then
  flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  has() { for f in "$@"; do case "$flags" in *" $f "*) ;; *) return 1 ;; esac; done; }
  if has avx512f avx512bw avx512vl avx512_vnni avx512vbmi; then variant=icelake
  elif has avx512f avx512bw avx512vl avx512dq avx512cd; then variant=skylakex
  elif has avx2 fma f16c bmi2 avx_vnni; then variant=alderlake
  elif has avx2 fma f16c bmi2; then variant=haswell
  elif has avx; then variant=sandybridge
  elif has sse4_2; then variant=sse42
  else variant=x64
  fi
  [ -e "$BACKENDS/libggml-cpu-$variant.so" ] || variant=x64
  export GGML_BACKEND_PATH=$BACKENDS/libggml-cpu-$variant.so
fi
exec "$LIB/ld-linux-x86-64.so.2" --library-path "$LIB:$LIB/llama" "$HERE/root/usr/bin/llama-server" "$@"
EOF
chmod +x "$DEST.tmp/llama-server"
"$DEST.tmp/llama-server" --version >&2 || die "the unpacked llama-server does not start"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
log "llama-server from: $(paste -sd, "$DEST/versions.txt" | sed 's/,/, /g')"
echo "$LAUNCHER"
