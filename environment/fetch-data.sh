#!/usr/bin/env bash
# Downloads Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv 1708.07747) into data/fashion-mnist:
# the four canonical gzip IDX files, verified by the size and MD5 of their DECOMPRESSED contents
# (the same sums torchvision lists as raw_data; the published .gz MD5s, e.g. 8d4fb7e6... for
# train-images, change whenever a mirror or distribution recompresses, as Debian's package does).
#
#   bash environment/fetch-data.sh [target-folder]      (default: <repo>/data/fashion-mnist)
#
# Sources, tried in order per file: $FASHION_MNIST_MIRROR (a base URL of your own, file:// works),
# the GitHub repository's raw files, then the zalando S3 mirror.
# Idempotent: files already present with the right checksum are kept. A file is written under a
# temporary name and renamed only once verified, so an interrupted run leaves no bad file behind.
# Prefer the Debian package where apt works:  sudo apt-get install dataset-fashion-mnist
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:-$here/../data/fashion-mnist}"
mkdir -p "$target"
target="$(cd "$target" && pwd)"

sources=(
  ${FASHION_MNIST_MIRROR:+"$FASHION_MNIST_MIRROR"}
  "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion"
  "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"
)
# name  md5-of-decompressed-contents  decompressed-bytes
files=(
  "train-images-idx3-ubyte.gz f4a8712d7a061bf5bd6d2ca38dc4d50a 47040016"
  "train-labels-idx1-ubyte.gz 9018921c3c673c538a1fc5bad174d6f9 60008"
  "t10k-images-idx3-ubyte.gz 8181f5470baa50b63fa0f6fddb340f0a 7840016"
  "t10k-labels-idx1-ubyte.gz 15d484375f8d13e6eb1aabb0c3f46965 10008"
)

die() { echo "fetch-data: $*" >&2; exit 1; }

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 2 --connect-timeout 15 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q --tries=2 --timeout=15 -O "$2" "$1"; }
else
  die "neither curl nor wget is installed; install one (sudo apt-get install curl) or the Debian package dataset-fashion-mnist"
fi
command -v md5sum >/dev/null 2>&1 || die "md5sum not found (coreutils)"
command -v gzip >/dev/null 2>&1 || die "gzip not found"

verify() { # gz-file md5 size -> 0 if its decompressed contents have that size and MD5
  [ -s "$1" ] || return 1
  gzip -t "$1" 2>/dev/null || return 1
  [ "$(gzip -dc "$1" | wc -c | tr -d ' ')" = "$3" ] || return 1
  [ "$(gzip -dc "$1" | md5sum | cut -d' ' -f1)" = "$2" ] || return 1
}

failed=0
offline=0
for entry in "${files[@]}"; do
  read -r name md5 size <<<"$entry"
  dest="$target/$name"
  if verify "$dest" "$md5" "$size"; then
    echo "fetch-data: $name present and verified"
    continue
  fi
  ok=0
  if [ "$offline" = 1 ]; then
    echo "fetch-data:   skipping $name: no source was reachable for the previous file" >&2
    failed=1
    continue
  fi
  reached=0
  for src in "${sources[@]}"; do
    tmp="$dest.part.$$"
    echo "fetch-data: downloading $src/$name"
    if fetch "$src/$name" "$tmp" && verify "$tmp" "$md5" "$size"; then
      mv -f "$tmp" "$dest"
      ok=1
      break
    fi
    if [ -e "$tmp" ]; then
      reached=1
      echo "fetch-data:   $name from $src failed verification (expected $size bytes with MD5 $md5 once decompressed)" >&2
    else
      echo "fetch-data:   could not download $src/$name (no network, or the host is unreachable)" >&2
    fi
    rm -f "$tmp"
  done
  if [ "$ok" != 1 ]; then
    failed=1
    [ "$reached" = 1 ] || offline=1
  fi
done

if [ "$failed" = 1 ]; then
  cat >&2 <<MSG
fetch-data: FAILED: Fashion-MNIST is incomplete in $target.
  Alternatives:
    sudo apt-get install dataset-fashion-mnist   (puts the files in /usr/share/datasets/fashion-mnist)
    or copy the four files (${files[*]%% *}) from another machine into
    $target  (or any folder named by REPRO_DATA)
MSG
  exit 1
fi
echo "fetch-data: Fashion-MNIST ready in $target"
