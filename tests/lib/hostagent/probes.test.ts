import { expect, test } from "bun:test";
import { probeChecks } from "../../../lib/hostagent/probes.ts";

test("probeChecks() turns each readiness probe into a check with its description and hint", () => {
  const probes = [
    { mode: "readiness" as const, description: "docker to be running", script: "#!/bin/bash\ndocker info\n", hint: "see the docker log" },
    { mode: "readiness" as const, description: "user probe 2/2", script: "#!/bin/sh\ntrue\n" },
  ];
  expect(probeChecks(probes)).toEqual([
    { kind: "probe", description: "docker to be running", script: "#!/bin/bash\ndocker info\n", hint: "see the docker log" },
    { kind: "probe", description: "user probe 2/2", script: "#!/bin/sh\ntrue\n", hint: "" },
  ]);
});
