#!/bin/bash
# With a uid at or below 1000 the user is not given its own journal file, so `journalctl --user` shows nothing
# unless the user is in systemd-journal (the group exists only on systemd distributions).
set -eu

[ "${DEN_CIDATA_UID:?}" -le 1000 ] || exit 0
den_real_guest || exit 0
getent group systemd-journal >/dev/null 2>&1 || exit 0
usermod -aG systemd-journal "${DEN_CIDATA_USER:?}"
