#!/usr/bin/env bash
# Build an aarch64 Python sysroot that runs under user-mode qemu (no binfmt, no chroot, no docker).
#
#   scripts/arm/build_sysroot.sh [CACHE_DIR]        (default: <repo>/.cache/arm-sysroot, git-ignored)
#
# Layout of CACHE_DIR when done:
#   rootfs/                      Debian bookworm arm64, extracted only (python3.11, libstdc++6, libgomp1)
#   bin/qemu-aarch64-static      taken out of Debian's qemu-user-static .deb (the package is not installed)
#   site/                        aarch64 wheels of numpy / onnxruntime / openvino, pinned to
#                                requirements/constraints.txt (the same versions as the x86 side)
#   profiles/<cpu>/              made on first use by tests/arm/emulator.py: a hard-link copy of
#                                rootfs/ plus that CPU's fake /proc/cpuinfo and MIDR sysfs files
#   STAMP                        written last; holds what was built. A re-run with the same inputs exits early.
#
# Recipe and traps: docs/arm.md. Needs root (or mmdebstrap already installed), apt sources for bookworm,
# and network access to Debian and PyPI.
# Env: PYTHON (host python with pip; default: <repo>/.venv/bin/python, then python3),
#      ARM_SYSROOT_FORCE=1 to rebuild everything.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${1:-${ARM_SYSROOT:-$REPO/.cache/arm-sysroot}}"
CONSTRAINTS="$REPO/requirements/constraints.txt"
SUITE=bookworm
PY_ARM=python3.11
PACKAGES=(numpy onnxruntime openvino)
T0=$(date +%s)

say()  { printf '[arm-sysroot %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die()  { printf 'build_sysroot.sh: error: %s\n' "$*" >&2; exit 1; }

# --- inputs ---------------------------------------------------------------------------------------
[ -f "$CONSTRAINTS" ] || die "missing $CONSTRAINTS (pins numpy/onnxruntime/openvino)"
PINS=()
for pkg in "${PACKAGES[@]}"; do
  line=$(grep -iE "^${pkg}==[^ ]+" "$CONSTRAINTS" | head -n1 || true)
  [ -n "$line" ] || die "no '${pkg}==VERSION' line in $CONSTRAINTS"
  PINS+=("$line")
done

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi
"$PYTHON" -m pip --version >/dev/null 2>&1 || die "no pip for host python '$PYTHON' (set PYTHON=...)"

# What the stamp records: a change to any of these triggers a rebuild.
SCRIPT_SUM=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
WANT="suite=$SUITE python=$PY_ARM pins=${PINS[*]} script=$SCRIPT_SUM"

mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"
STAMP="$CACHE/STAMP"
if [ -z "${ARM_SYSROOT_FORCE:-}" ] && [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$WANT" ] \
   && [ -x "$CACHE/bin/qemu-aarch64-static" ] && [ -x "$CACHE/rootfs/usr/bin/$PY_ARM" ] && [ -d "$CACHE/site" ]; then
  say "up to date: $CACHE (${PINS[*]})"
  exit 0
fi
rm -f "$STAMP"
say "building into $CACHE (${PINS[*]})"
# per-profile roots are hard-link copies of rootfs/: stale once anything is rebuilt
rm -rf "$CACHE/profiles"
[ -d "$CACHE/rootfs" ] && rm -rf "$CACHE/rootfs/proc/cpuinfo" "$CACHE/rootfs/sys/devices/system/cpu"

APT_UPDATED=
apt_update() {
  if [ -z "$APT_UPDATED" ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
}

# --- 1. mmdebstrap --------------------------------------------------------------------------------
if ! command -v mmdebstrap >/dev/null; then
  [ "$(id -u)" = 0 ] || die "mmdebstrap is not installed and we are not root (apt-get install mmdebstrap)"
  command -v apt-get >/dev/null || die "mmdebstrap is missing and there is no apt-get (Debian/Ubuntu host needed)"
  apt_update
  say "apt-get install mmdebstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null \
    || die "apt-get install mmdebstrap failed"
fi

# --- 2. qemu-aarch64-static out of the .deb -------------------------------------------------------
if [ ! -x "$CACHE/bin/qemu-aarch64-static" ]; then
  command -v apt-get >/dev/null || die "no apt-get to fetch qemu-user-static"
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  say "apt-get download qemu-user-static"
  if ! (cd "$TMP" && apt-get download -qq qemu-user-static >/dev/null 2>&1); then
    apt_update
    (cd "$TMP" && apt-get download -qq qemu-user-static >/dev/null 2>&1) || die "apt-get download qemu-user-static failed"
  fi
  deb=$(ls "$TMP"/qemu-user-static_*.deb 2>/dev/null | head -n1)
  [ -n "$deb" ] || die "apt-get download produced no qemu-user-static .deb"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$TMP" ./usr/bin/qemu-aarch64-static \
    || die "could not extract usr/bin/qemu-aarch64-static from $(basename "$deb")"
  mkdir -p "$CACHE/bin"
  install -m 0755 "$TMP/usr/bin/qemu-aarch64-static" "$CACHE/bin/qemu-aarch64-static"
  basename "$deb" > "$CACHE/bin/qemu.deb"
  rm -rf "$TMP"; trap - EXIT
fi
say "qemu: $("$CACHE/bin/qemu-aarch64-static" --version | head -n1)"

# --- 3. arm64 root filesystem (extract only: no maintainer scripts, so no emulation needed) --------
if [ ! -x "$CACHE/rootfs/usr/bin/$PY_ARM" ]; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then MIRROR=/etc/apt/sources.list.d/debian.sources
  elif [ -s /etc/apt/sources.list ]; then MIRROR=/etc/apt/sources.list
  else MIRROR=http://deb.debian.org/debian; fi
  rm -rf "$CACHE/rootfs.tmp" "$CACHE/rootfs"
  say "mmdebstrap --variant=extract arm64 $SUITE (mirror: $MIRROR)"
  LOG="$CACHE/mmdebstrap.log"
  if ! mmdebstrap --quiet --variant=extract --architectures=arm64 \
        --include=${PY_ARM}-minimal,lib${PY_ARM}-stdlib,libstdc++6,libgomp1 \
        "$SUITE" "$CACHE/rootfs.tmp" "$MIRROR" </dev/null >"$LOG" 2>&1; then
    tail -n 5 "$LOG" >&2
    die "mmdebstrap failed (full log: $LOG)"
  fi
  [ -x "$CACHE/rootfs.tmp/usr/bin/$PY_ARM" ] || die "rootfs has no /usr/bin/$PY_ARM after mmdebstrap"
  mv "$CACHE/rootfs.tmp" "$CACHE/rootfs"
fi
say "rootfs: $(du -sh "$CACHE/rootfs" | cut -f1)"

# --- 4. aarch64 wheels with the host's pip ---------------------------------------------------------
# List EVERY manylinux tag: pip does not widen one tag to older glibc versions, and with only a few
# tags it silently resolves an ancient openvino.
PLAT=(--platform manylinux2014_aarch64)
for minor in $(seq 17 36); do PLAT+=(--platform "manylinux_2_${minor}_aarch64"); done
rm -rf "$CACHE/site.tmp"
say "pip install --target site (aarch64, cp311): ${PINS[*]}"
if ! "$PYTHON" -m pip install --disable-pip-version-check --no-compile --quiet \
      --target "$CACHE/site.tmp" --only-binary=:all: \
      --python-version 3.11 --implementation cp --abi cp311 "${PLAT[@]}" \
      -c "$CONSTRAINTS" "${PINS[@]}" >"$CACHE/pip.log" 2>&1; then
  tail -n 5 "$CACHE/pip.log" >&2
  die "pip could not fetch aarch64 wheels for ${PINS[*]} (full log: $CACHE/pip.log)"
fi
rm -rf "$CACHE/site"
mv "$CACHE/site.tmp" "$CACHE/site"
say "site-packages: $(du -sh "$CACHE/site" | cut -f1)"

# --- 5. smoke test under qemu: the pinned versions import on an emulated cortex-a72 ----------------
say "smoke test: import numpy, onnxruntime, openvino under qemu (cortex-a72)"
GOT=$(cd "$REPO" && PYTHONPATH="$REPO" "$PYTHON" -m tests.arm.emulator versions --sysroot "$CACHE" --profile cortex-a72 2>"$CACHE/smoke.log") \
  || { tail -n 5 "$CACHE/smoke.log" >&2; die "the aarch64 python could not import the wheels (log: $CACHE/smoke.log)"; }
for pin in "${PINS[@]}"; do
  case " $GOT " in *" $pin "*) ;; *) die "under qemu got '$GOT', expected $pin";; esac
done
say "under qemu: $GOT"

printf '%s\nbuilt=%s qemu=%s\n' "$WANT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(cat "$CACHE/bin/qemu.deb" 2>/dev/null)" > "$STAMP"
say "done: $CACHE"
