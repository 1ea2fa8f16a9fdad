// The Pulumi program `pulumi up` runs in this repository (Pulumi.yaml `main`): load the
// manifest named by stack config `manifest` (default bitbucket.yaml), declare its resources,
// and export what was made. No logic of its own.

import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { deployManifest } from "./manifest/deploy";
import { loadManifest } from "./manifest/load";

export = async () => {
  const file = path.resolve(new pulumi.Config().get("manifest") ?? "bitbucket.yaml");
  const { outputs } = await deployManifest(loadManifest(file));
  return outputs;
};
