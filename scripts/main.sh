#!/usr/bin/env bash
# The main job from a fresh clone: install what is needed, build den's binaries, build (or reuse) the Debian test
# guest, then boot it with den (with this checkout's .cache/shared folder mounted writable), run a command in it over
# `den shell`, reach a web server started in the guest from the host through den's port forwarding, and stop it.
# Env: DEN_HOME (default: a folder under .cache/ in this checkout, so your ~/.den is left alone), KEEP=1 keeps the VM
# running at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
bun run build

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) den=$PWD/dist/den-linux-x64 ;;
  Linux-aarch64) den=$PWD/dist/den-linux-arm64 ;;
  *) echo "main.sh: this script boots the x86_64 Debian test guest on Linux hosts only" >&2; exit 2 ;;
esac

if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
image=$("${sudo[@]}" bash scripts/build-guest-image.sh | tail -n 1)

export DEN_HOME=${DEN_HOME:-$PWD/.cache/den-home}
template=$PWD/.cache/test-guest.yaml
mkdir -p "$(dirname "$template")"
cat >"$template" <<YAML
# The Debian test guest built by scripts/build-guest-image.sh, booted by direct kernel boot.
images:
- location: $image/disk.qcow2
  arch: x86_64
  kernel:
    location: $image/vmlinuz
    cmdline: "$(cat "$image/cmdline")"
  initrd:
    location: $image/initrd.img
cpus: 2
memory: 1GiB
mounts:
- location: $PWD/.cache/shared
  writable: true
# The default containerd archive (nerdctl-full from GitHub) may be out of reach here; this job does not use it.
containerd:
  system: false
  user: false
YAML
mkdir -p .cache/shared
date >.cache/shared/hello-from-host.txt

name=main-job
"$den" list -q | grep -qx "$name" || "$den" create "$template" --name "$name"
"$den" start "$name"
"$den" list "$name"
"$den" shell "$name" -- uname -a
"$den" shell "$name" -- cat "$PWD/.cache/shared/hello-from-host.txt"
# A guest program listening on 127.0.0.1 shows up on the host's 127.0.0.1 (same port by default).
"$den" shell "$name" -- sh -c 'cd /tmp && nohup python3 -m http.server 18080 --bind 127.0.0.1 >/dev/null 2>&1 &'
for _ in $(seq 50); do curl -fs -o /dev/null http://127.0.0.1:18080/ && break; sleep 0.2; done
curl -fsS http://127.0.0.1:18080/ | head -n 3
"$den" ports "$name"
if [[ ${KEEP:-0} != 1 ]]; then
  "$den" stop "$name"
fi
