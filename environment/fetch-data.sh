#!/usr/bin/env bash
# Downloads Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv 1708.07747) into data/fashion-mnist:
# the four canonical gzip IDX files, verified by MD5 (the checksums published in
# https://github.com/zalandoresearch/fashion-mnist#get-the-data) and by decompressed size.
#
#   bash environment/fetch-data.sh [target-folder]      (default: <repo>/data/fashion-mnist)
#
# Sources, tried in order per file: the GitHub repository's raw files, then the S3 mirror.
# Idempotent: files already present with the right checksum are kept. A file is written under a
# temporary name and renamed only once verified, so an interrupted run leaves no bad file behind.
# Prefer the Debian package where apt works:  sudo apt-get install dataset-fashion-mnist
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:-$here/../data/fashion-mnist}"
mkdir -p "$target"
target="$(cd "$target" && pwd)"

sources=(
  "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion"
  "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"
)
# name  md5-of-gz  decompressed-bytes
files=(
  "train-images-idx3-ubyte.gz 8d4fb7e6c68d591d4c3dfef9ec88bf0d 47040016"
  "train-labels-idx1-ubyte.gz 25c81989df183df01b3e8a0aad5dffbe 60008"
  "t10k-images-idx3-ubyte.gz bef4ecab320f06d8554ea6380940ec79 7840016"
  "t10k-labels-idx1-ubyte.gz bb300cfdad3c16e7a12a480ee83cd310 10008"
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

verify() { # file md5 size -> 0 if good
  [ -s "$1" ] || return 1
  [ "$(md5sum "$1" | cut -d' ' -f1)" = "$2" ] || return 1
  [ "$(gzip -dc "$1" 2>/dev/null | wc -c | tr -d ' ')" = "$3" ] || return 1
}

failed=0
for entry in "${files[@]}"; do
  read -r name md5 size <<<"$entry"
  dest="$target/$name"
  if verify "$dest" "$md5" "$size"; then
    echo "fetch-data: $name present and verified"
    continue
  fi
  ok=0
  for src in "${sources[@]}"; do
    tmp="$dest.part.$$"
    echo "fetch-data: downloading $src/$name"
    if fetch "$src/$name" "$tmp" && verify "$tmp" "$md5" "$size"; then
      mv -f "$tmp" "$dest"
      ok=1
      break
    fi
    if [ -e "$tmp" ]; then
      echo "fetch-data:   $name from $src failed verification (md5 $(md5sum "$tmp" | cut -d' ' -f1), expected $md5)" >&2
    else
      echo "fetch-data:   could not download $src/$name (no network, or the host is unreachable)" >&2
    fi
    rm -f "$tmp"
  done
  [ "$ok" = 1 ] || failed=1
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
