#!/bin/sh
# Installs den from a release: picks the tarball for this machine from the release's SHA256SUMS, downloads it,
# checks its SHA-256, and copies bin/den and the shell completions into PREFIX. Nothing is installed unless the
# checksum matches.
#
#   curl -fsSL https://…/install.sh | sh                      (a published copy knows its release URL)
#   DEN_RELEASE_URL=https://…/download/v0.1.0 sh install.sh   (this copy: the URL is required)
#
# Settings, from the environment:
#   DEN_RELEASE_URL  where the release's SHA256SUMS and den-VERSION-OS-ARCH.tar.gz files are: an http(s):// URL,
#                    a file:// URL or a local folder
#   PREFIX           where to install (default: $HOME/.local): PREFIX/bin/den, PREFIX/share/…/completions
set -eu

# scripts/release.ts writes the URL the release is published at here in the copy it publishes.
default_release_url=""

fail() {
  printf 'error: %s\n' "$1" >&2
  if [ -n "${2:-}" ]; then printf 'hint: %s\n' "$2" >&2; fi
  exit 1
}

say() {
  printf '%s\n' "$*"
}

case "${1:-}" in
  "") ;;
  -h | --help)
    say "Usage: DEN_RELEASE_URL=URL [PREFIX=DIR] sh install.sh"
    say "Installs den from the release at URL (http(s)://, file:// or a folder) into DIR (default: \$HOME/.local)"
    exit 0
    ;;
  *) fail "Cannot run install.sh with \"$1\": it takes no arguments" "set DEN_RELEASE_URL and PREFIX in the environment instead" ;;
esac

release_url=${DEN_RELEASE_URL:-$default_release_url}
[ -n "$release_url" ] || fail "Cannot install den: DEN_RELEASE_URL is not set" \
  "set DEN_RELEASE_URL to the release's download URL (or a folder) holding SHA256SUMS and the den-*.tar.gz files"
release_url=${release_url%/}
prefix=${PREFIX:-${HOME:?HOME is not set}/.local}

kernel=$(uname -s)
machine=$(uname -m)
case "$kernel" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) fail "Cannot install den on \"$kernel\": den runs on Linux and macOS" "den is released for linux-x64, linux-arm64, darwin-x64 and darwin-arm64" ;;
esac
case "$machine" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) fail "Cannot install den on \"$machine\": den runs on x86_64 and arm64" "den is released for linux-x64, linux-arm64, darwin-x64 and darwin-arm64" ;;
esac
# A shell under Rosetta reports x86_64 on Apple silicon; the arm64 build is the one that can use Virtualization.framework.
if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
  arch=arm64
fi

# The downloads go to a private folder that is removed however the script ends.
work=$(mktemp -d "${TMPDIR:-/tmp}/den-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fetch NAME: copies the release's file NAME into $work.
fetch() {
  case "$release_url" in
    http://* | https://*)
      if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 -o "$work/$1" "$release_url/$1" || fail "Cannot download \"$release_url/$1\"" "check DEN_RELEASE_URL and the network"
      elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$work/$1" "$release_url/$1" || fail "Cannot download \"$release_url/$1\"" "check DEN_RELEASE_URL and the network"
      else
        fail "Cannot download den: neither curl nor wget is installed" "install curl"
      fi
      ;;
    file://*) cp "${release_url#file://}/$1" "$work/$1" 2>/dev/null || fail "Cannot read \"${release_url#file://}/$1\": no such file" "check DEN_RELEASE_URL" ;;
    *://*) fail "Cannot download from \"$release_url\": unsupported URL scheme" "use an http(s):// or file:// URL, or a folder" ;;
    *) cp "$release_url/$1" "$work/$1" 2>/dev/null || fail "Cannot read \"$release_url/$1\": no such file" "check DEN_RELEASE_URL" ;;
  esac
}

# Checked before any download, so a missing tool never looks like a bad checksum.
if command -v sha256sum >/dev/null 2>&1; then
  sha256_tool="sha256sum"
elif command -v shasum >/dev/null 2>&1; then
  sha256_tool="shasum -a 256"
else
  fail "Cannot check the download: neither sha256sum nor shasum is installed" "install coreutils (sha256sum) or perl (shasum)"
fi

fetch SHA256SUMS
# Lines read "<sha256>  <file>" ("*<file>" in binary mode); the version is whatever this release holds.
matches=$(awk -v suffix="-$os-$arch.tar.gz" '{ name = $2; sub(/^\*/, "", name) }
  name ~ /^den-[0-9A-Za-z.+~-]+\.tar\.gz$/ && substr(name, length(name) - length(suffix) + 1) == suffix { print $1, name }' "$work/SHA256SUMS")
[ -n "$matches" ] || fail "Cannot install den: the release has no tarball for $os-$arch" "see the files listed in $release_url/SHA256SUMS"
[ "$(printf '%s\n' "$matches" | wc -l)" -eq 1 ] || fail "Cannot install den: the release lists more than one tarball for $os-$arch" "check $release_url/SHA256SUMS"
expected=${matches%% *}
tarball=${matches#* }
folder=${tarball%.tar.gz}

say "Downloading $tarball from $release_url"
fetch "$tarball"
# $sha256_tool is split into the command and its options on purpose.
# shellcheck disable=SC2086
actual=$($sha256_tool "$work/$tarball" | cut -d " " -f 1)
[ "$actual" = "$expected" ] || fail "Cannot install den: checksum mismatch for $tarball (expected $expected, got $actual)" \
  "the download is damaged or was tampered with; nothing was installed. Try again, or check DEN_RELEASE_URL"

mkdir "$work/unpacked"
# -m: the files get the time of install, so a clock behind the release's date never makes tar warn of "the future".
tar -xmzf "$work/$tarball" -C "$work/unpacked" || fail "Cannot unpack $tarball" "the tarball is damaged; nothing was installed"
unpacked="$work/unpacked/$folder"
[ -f "$unpacked/bin/den" ] || fail "Cannot install den: $tarball has no $folder/bin/den" "the release is damaged; nothing was installed"

# install_file SOURCE DEST MODE: a copy beside the destination, renamed over it, so a running den is never half-written.
install_file() {
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.install-tmp"
  chmod "$3" "$2.install-tmp"
  mv -f "$2.install-tmp" "$2"
}

install_file "$unpacked/bin/den" "$prefix/bin/den" 755
for completion in bash-completion/completions/den zsh/site-functions/_den fish/vendor_completions.d/den.fish; do
  if [ -f "$unpacked/share/$completion" ]; then install_file "$unpacked/share/$completion" "$prefix/share/$completion" 644; fi
done
# A darwin release carries the linux guest agent runtime of its arch here; den looks for it in PREFIX/share/den/.
for runtime in "$unpacked"/share/den/den-guestagent-runtime-*.zst; do
  if [ -f "$runtime" ]; then install_file "$runtime" "$prefix/share/den/${runtime##*/}" 644; fi
done
for doc in LICENSE README.md; do
  if [ -f "$unpacked/$doc" ]; then install_file "$unpacked/$doc" "$prefix/share/doc/den/$doc" 644; fi
done

installed_version=$("$prefix/bin/den" --version 2>&1) || fail "Cannot run the installed $prefix/bin/den: $installed_version" \
  "den was installed but does not start on this machine"
say "Installed $installed_version"
say "  $prefix/bin/den"
say "  completions: $prefix/share/bash-completion/completions/den, $prefix/share/zsh/site-functions/_den, $prefix/share/fish/vendor_completions.d/den.fish"

case ":${PATH:-}:" in
  *":$prefix/bin:"*)
    found=$(command -v den 2>/dev/null || true)
    if [ -n "$found" ] && [ "$found" != "$prefix/bin/den" ]; then
      say "Note: $found comes before $prefix/bin on PATH, so \"den\" runs that one"
    else
      say "$prefix/bin is on PATH: run \"den start\""
    fi
    ;;
  *)
    say "$prefix/bin is not on PATH. Add it, e.g. in ~/.profile or ~/.zshrc:"
    say "  export PATH=\"$prefix/bin:\$PATH\""
    ;;
esac
if [ "$(basename "${SHELL:-sh}")" = zsh ]; then
  say "zsh loads the completion once $prefix/share/zsh/site-functions is on fpath: fpath+=($prefix/share/zsh/site-functions)"
fi

if [ "$os" = linux ]; then
  if [ "$arch" = x64 ]; then qemu=qemu-system-x86_64 debian=qemu-system-x86; else qemu=qemu-system-aarch64 debian=qemu-system-arm; fi
  if command -v "$qemu" >/dev/null 2>&1 && command -v qemu-img >/dev/null 2>&1; then
    say "QEMU is installed ($qemu, qemu-img): nothing else is needed"
  else
    say "den runs VMs with QEMU, which is not installed. Install it:"
    say "  Debian/Ubuntu: sudo apt-get install $debian qemu-utils"
    say "  Fedora:        sudo dnf install qemu-kvm qemu-img"
    say "  Arch:          sudo pacman -S qemu-base"
  fi
  if [ ! -e /dev/kvm ]; then
    say "Note: /dev/kvm is missing, so VMs run without hardware acceleration (slow); enable virtualization (KVM) on this machine"
  elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    say "Note: you cannot use /dev/kvm; add yourself to its group (usually: sudo usermod -aG kvm \"\$USER\", then log in again)"
  fi
else
  macos=$(sw_vers -productVersion 2>/dev/null || echo 0)
  if [ "${macos%%.*}" -ge 13 ] 2>/dev/null; then
    say "macOS $macos: nothing else is needed (VMs use Virtualization.framework; QEMU only for vmType: qemu: brew install qemu)"
  else
    say "macOS $macos: the vz driver needs macOS 13, so den uses QEMU here. Install it: brew install qemu"
  fi
fi
