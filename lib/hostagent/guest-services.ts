// The guest services the host agent runs, in start order (mounts before the things that may use them).
import { guestClockService } from "../clock/guest-clock-service.ts";
import { mountInotifyService } from "../mounts/inotify/mount-inotify-service.ts";
import { mountService } from "../mounts/mount-service.ts";
import { portForwardService } from "../portfwd/port-forward-service.ts";
import type { GuestService } from "./guest-service.ts";

export const guestServices: readonly GuestService[] = [mountService, mountInotifyService, portForwardService, guestClockService];
