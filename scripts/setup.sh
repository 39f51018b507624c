#!/usr/bin/env bash
# Installs what den's build and tests need on a fresh Debian machine: system packages (only those missing)
# and the pinned npm packages (which bring Bun). Safe to run again; does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# uidmap: newgidmap, which lets virtiofsd run for an ordinary user (lib/mounts/virtiofsd-command.ts; tests/e2e/nonroot.test.ts).
packages=(qemu-system-x86 qemu-utils genisoimage xorriso debootstrap e2fsprogs openssh-client openssh-sftp-server shellcheck curl python3-yaml inotify-tools uidmap ruby)
# The container tests drive a guest's engines with the host's own clients (tests/e2e/containers.test.ts): podman for
# `podman --remote`, busybox-static as the one binary of the FROM scratch image they build (no registry is reachable),
# and Debian's docker.io only when no docker client is on PATH already (a Docker CE or static client does the same job).
packages+=(podman busybox-static)
# musl's loader and libc: tests/lib/guestagent/musl-agent.test.ts runs Bun's musl runtime (an Alpine guest's) with den's
# agent, and compiles a small glibc shim for it with gcc.
packages+=(musl gcc)
command -v docker >/dev/null || packages+=(docker.io)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}" >&2
  if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x node_modules/.bin/bun ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
