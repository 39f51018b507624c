/** den-guestagent.service as dens before the runtime disk wrote it (one compiled agent binary): the upgrade tests start from it. */
export const OlderAgentUnit = [
  "[Unit]",
  "Description=den guest agent (port forwarding, file events)",
  "After=network.target",
  "",
  "[Service]",
  "ExecStart=/usr/local/bin/den-guestagent serve",
  "Restart=always",
  "RestartSec=1",
  "OOMScoreAdjust=-500",
  "",
  "[Install]",
  "WantedBy=multi-user.target",
  "",
].join("\n");
