import { expect, test } from "bun:test";
import { pluginDescription } from "../../../lib/plugins/plugin-description.ts";

test.each([
  { head: "#!/bin/sh\n# <den-desc>Say hello</den-desc>\n", want: "Say hello" },
  { head: "#!/bin/sh\n# <limactl-desc> Lima's words </limactl-desc>\n", want: "Lima's words" },
  { head: "#!/bin/sh\n# <limactl-desc>lima</limactl-desc>\n# <den-desc>den</den-desc>\n", want: "den" },
  { head: "#!/bin/sh\necho no tag\n", want: undefined },
  { head: "\x7fELF <den-desc>binary</den-desc>", want: undefined },
  { head: "#!/bin/sh\n# <den-desc></den-desc>\n", want: undefined },
])("pluginDescription() reads $want from a script head", ({ head, want }) => {
  expect(pluginDescription(head)).toBe(want);
});
