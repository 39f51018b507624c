#!/bin/bash
# den's default guest home is /home/USER.guest like Lima ≥ 2.1; Lima before that used /home/USER.linux and
# provisioning scripts written for it still name that path, so the other spelling is a relative symlink.
set -eu

root="${DEN_BOOT_ROOT:-}"
home="${DEN_CIDATA_HOME:?}"

case "$home" in
*.guest) other="${home%.guest}.linux" ;;
*.linux) other="${home%.linux}.guest" ;;
*) exit 0 ;;
esac

if [ -d "$root$home" ] && [ ! -e "$root$other" ] && [ ! -L "$root$other" ]; then
	ln -s "$(basename "$home")" "$root$other"
	den_log "linked $other to $home"
fi
