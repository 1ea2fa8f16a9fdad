// The Pulumi program `pulumi up` runs in this repository (Pulumi.yaml `main`): load the
// manifest named by stack config `manifest` (default bitbucket.yaml), declare its resources (of
// the one shard stack config `only` names, when set: `workspace=W`, `project=P` or `account`, one
// stack per shard; manifest/shard.ts), and export what was made. No logic of its own.

import * as path from "path";
import * as pulumi from "./pulumi";
import { deployManifest } from "./manifest/deploy";
import { loadManifest } from "./manifest/load";

export = async () => {
  const config = new pulumi.Config();
  const file = path.resolve(config.get("manifest") ?? "bitbucket.yaml");
  const only = config.get("only");
  const { outputs } = await deployManifest(loadManifest(file), undefined, {
    ...(only !== undefined && { only }),
  });
  return outputs;
};
