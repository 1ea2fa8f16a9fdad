// The command line's first import (main.ts), so that it runs before the others load: Node keeps
// the code it compiles for them (the Pulumi SDK, ajv, yaml...) in its compile cache, and every
// command after the first starts in about half the time (`--version`: 0.84 s, then 0.5 s). Node's
// own directory for it (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE); a quiet
// optimization that never fails a command, off with NODE_DISABLE_COMPILE_CACHE=1 (Node >= 22.8).

import { enableCompileCache } from "module";

enableCompileCache?.();
