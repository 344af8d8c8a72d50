#!/usr/bin/env bash
# Packs what a GPU machine needs to build the detector (ABLATE_DETECTOR_ONLY) beside its own CUDA
# LibTorch: the headers, CMake configs and shared libraries of our Debian packages (OpenCV core/
# imgproc/imgcodecs, Abseil, nlohmann-json, simdjson, oneTBB, CLI11, GoogleTest, OpenSSL) and their
# runtime closure, into .gpu/sysroot.tar.xz (git-ignored), plus the reference vectors into .gpu/.
#
# OpenCV's imgcodecs links GDAL and GDCM, whose closures are ~150 MB; we never read those formats,
# so they are replaced by stub libraries that define the symbols imgcodecs imports (it is linked
# with BIND_NOW, so every import must resolve at load). Each stub function returns 0 / null: the
# codec registry calls GDALAllRegister() when it is first used, which becomes a no-op, and the
# GDAL and DICOM decoders are never chosen for the JPEG and PNG files we read.
#
# Usage: bench/gpu/make_bundle.sh   (from the repo root; needs the packages scripts/setup.sh installs)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu
rm -rf "$out" && mkdir -p "$out"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
arch=x86_64-linux-gnu
libdir=/usr/lib/$arch

# 1. Development files of the packages, as installed (headers, CMake configs, .so links, .a).
pkgs="libopencv-dev libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libabsl-dev
  nlohmann-json3-dev libsimdjson-dev libtbb-dev libtbb12 libtbbmalloc2 libcli11-dev libgtest-dev
  libgmock-dev googletest libssl-dev"
for p in $pkgs; do
  dpkg -L "$p" 2>/dev/null | while read -r f; do
    case "$f" in /usr/share/doc/* | /usr/share/man/* | /usr/src/*) continue ;; esac
    if [[ -f "$f" || -L "$f" ]]; then
      mkdir -p "$root$(dirname "$f")" && cp -a "$f" "$root$f"
    fi
  done
done

# 2. Runtime closure of the libraries we link, minus glibc/libstdc++ (the GPU machine's are newer)
# and minus the stubbed subtrees.
stubbed="libgdal.so.32 libgdcmMSFF.so.3.0 libgdcmDSED.so.3.0"
system_libs="libc.so.6 libm.so.6 libstdc++.so.6 libgcc_s.so.1 ld-linux-x86-64.so.2 libpthread.so.0
  libdl.so.2 librt.so.1"
resolve() { ldconfig -p | awk -v n="$1" '$1 == n && /x86-64/ && !p {p = $NF} END {print p}'; }
declare -A seen
queue=()
for l in "$libdir"/libopencv_{core,imgproc,imgcodecs}.so.406 "$libdir"/libabsl_*.so.20220623 \
  "$libdir"/libsimdjson.so.14 "$libdir"/libtbb.so.12 "$libdir"/libcrypto.so.3; do
  queue+=("$l")
done
while ((${#queue[@]})); do
  lib=${queue[0]}
  queue=("${queue[@]:1}")
  name=$(basename "$lib")
  [[ -n ${seen[$name]:-} ]] && continue
  seen[$name]=1
  real=$(readlink -f "$lib")
  mkdir -p "$root$libdir"
  cp -L "$real" "$root$libdir/$(basename "$real")"
  [[ $(basename "$real") == "$name" ]] || ln -sf "$(basename "$real")" "$root$libdir/$name"
  for need in $(readelf -d "$real" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [[ " $system_libs $stubbed " == *" $need "* ]] && continue
    path=$(resolve "$need")
    [[ -n $path ]] || { echo "cannot resolve $need (needed by $name)" >&2; exit 1; }
    queue+=("$path")
  done
done

# 3. Exported-targets files check that every library they name exists. Those we link are real
# (step 2); any other one (other OpenCV modules, tbbbind, ...) is copied when small enough to not
# matter, else an empty placeholder that is never linked.
find "$root/usr" -path '*/cmake/*' -name '*.cmake' -exec grep -ho '_IMPORT_PREFIX}/lib/[^" ]*' {} + |
  sed 's|_IMPORT_PREFIX}/||' | sort -u | while read -r f; do
    [[ -e "$root/usr/$f" ]] && continue
    if [[ $f == */libopencv_* ]]; then : >"$root/usr/$f"; else cp -L "/usr/$f" "$root/usr/$f"; fi
  done

# 4. Stubs: every symbol the bundled libraries import from a stubbed library; functions return 0.
for stub in $stubbed; do
  real=$(resolve "$stub")
  nm -D --defined-only -S "$real" | awk 'NF == 4 {print $4, $3, $2} NF == 3 {print $3, $2, 0}' |
    sort -u >"$root/defs"
  : >"$root/undef"
  for f in "$root$libdir"/*.so*; do
    [[ -s $f ]] && nm -D --undefined-only "$f" 2>/dev/null | awk '{print $NF}' >>"$root/undef"
  done
  sort -u "$root/undef" -o "$root/undef"
  {
    echo '.text'
    join "$root/undef" "$root/defs" | while read -r sym type size; do
      case "$type" in
        T | W | i) printf '.globl %s\n.type %s,@function\n%s: xor %%eax, %%eax\nret\n' "$sym" "$sym" "$sym" ;;
        *) printf '.data\n.globl %s\n.type %s,@object\n.size %s,0x%s\n%s: .zero 0x%s\n.text\n' \
          "$sym" "$sym" "$sym" "${size:-8}" "$sym" "${size:-8}" ;;
      esac
    done
  } >"$root/$stub.s"
  gcc -shared -nostdlib -Wl,-soname,"$stub" -o "$root$libdir/$stub" "$root/$stub.s"
done
rm -f "$root/defs" "$root/undef" "$root"/*.s

tar -C "$root" -cJf "$out/sysroot.tar.xz" usr
cp -r ../shared/yolact-vectors "$out/yolact-vectors"
du -sh "$out"/*
