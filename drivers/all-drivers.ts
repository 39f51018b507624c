// Every VM backend den ships, in the order `den info` lists them. The one list drivers/registry.ts builds den's
// registry from: a driver module only exports its registration, so a new driver appears here, in one line, or nowhere.
import type { DriverRegistration } from "./driver.ts";
import { QemuRegistration } from "./qemu/qemu-driver.ts";
import { VzRegistration } from "./vz/vz-driver.ts";

export const AllDrivers: readonly DriverRegistration[] = [QemuRegistration, VzRegistration];
