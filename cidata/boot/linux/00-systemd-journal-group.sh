#!/bin/bash
# With a uid at or below 1000 the user is not given its own journal file, so `journalctl --user` shows nothing
# unless the user is in systemd-journal (the group exists only on systemd distributions).
set -eu

[ "${DEN_CIDATA_UID:?}" -le 1000 ] || exit 0
den_real_guest || exit 0
group="$(getent group systemd-journal 2>/dev/null)" || exit 0
# The member list is the fourth field: usermod (slow in an emulated guest) runs only on the first boot.
case ",${group##*:}," in
*,"$DEN_CIDATA_USER",*) exit 0 ;;
esac
usermod -aG systemd-journal "${DEN_CIDATA_USER:?}"
