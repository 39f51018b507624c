// The templates shipped inside the den binary. Each file is imported as text so `bun build --compile`
// embeds it; the map is searched after DEN_TEMPLATES_PATH (or DEN_HOME/_templates), as Lima searches
// its share folder last. A test checks that every file under templates/ is listed here.
import defaultMounts from "../../templates/_default/mounts.yaml" with { type: "text" };
import imagesAlpine322 from "../../templates/_images/alpine-3.22.yaml" with { type: "text" };
import imagesArchlinux from "../../templates/_images/archlinux.yaml" with { type: "text" };
import imagesDebian12 from "../../templates/_images/debian-12.yaml" with { type: "text" };
import imagesDebian13 from "../../templates/_images/debian-13.yaml" with { type: "text" };
import imagesFedora42 from "../../templates/_images/fedora-42.yaml" with { type: "text" };
import imagesUbuntu2404 from "../../templates/_images/ubuntu-24.04.yaml" with { type: "text" };
import alpine from "../../templates/alpine.yaml" with { type: "text" };
import archlinux from "../../templates/archlinux.yaml" with { type: "text" };
import debian from "../../templates/debian.yaml" with { type: "text" };
import defaultTemplate from "../../templates/default.yaml" with { type: "text" };
import docker from "../../templates/docker.yaml" with { type: "text" };
import dockerRootful from "../../templates/docker-rootful.yaml" with { type: "text" };
import fedora from "../../templates/fedora.yaml" with { type: "text" };
import k3s from "../../templates/k3s.yaml" with { type: "text" };
import k8s from "../../templates/k8s.yaml" with { type: "text" };
import podman from "../../templates/podman.yaml" with { type: "text" };
import podmanRootful from "../../templates/podman-rootful.yaml" with { type: "text" };
import ubuntu from "../../templates/ubuntu.yaml" with { type: "text" };

/** Keyed by name without `.yaml`: `debian`, `_images/debian-13`, `_default/mounts`. */
export const builtinTemplates: ReadonlyMap<string, string> = new Map<string, string>([
  ["_default/mounts", defaultMounts],
  ["_images/alpine-3.22", imagesAlpine322],
  ["_images/archlinux", imagesArchlinux],
  ["_images/debian-12", imagesDebian12],
  ["_images/debian-13", imagesDebian13],
  ["_images/fedora-42", imagesFedora42],
  ["_images/ubuntu-24.04", imagesUbuntu2404],
  ["alpine", alpine],
  ["archlinux", archlinux],
  ["debian", debian],
  ["default", defaultTemplate],
  ["docker", docker],
  ["docker-rootful", dockerRootful],
  ["fedora", fedora],
  ["k3s", k3s],
  ["k8s", k8s],
  ["podman", podman],
  ["podman-rootful", podmanRootful],
  ["ubuntu", ubuntu],
]);
