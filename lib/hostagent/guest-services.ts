// The guest services the host agent runs, in start order (mounts before the things that may use them).
import type { GuestService } from "./guest-service.ts";

export const guestServices: readonly GuestService[] = [];
