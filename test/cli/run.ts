// Running the command line in-process against an emulator: the environment points the API
// layer at it (as a user's shell would), and `run` returns what a terminal would show.

import axios from "axios";
import * as fs from "fs";
import * as path from "path";
import { main } from "../../provider/cli/main";
import type { Emulator } from "../emulator/server";
import { FAST_RETRIES, TOKEN } from "../harness/fixture";
import { tempDir } from "../hooks";

export interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Points BITBUCKET_* at the emulator until the returned function restores the environment. */
export function useEmulator(emu: Emulator, extra: Record<string, string> = {}): () => void {
  const set: Record<string, string> = {
    BITBUCKET_API_URL: emu.apiUrl,
    BITBUCKET_TOKEN: TOKEN,
    ...FAST_RETRIES,
    ...extra,
  };
  const saved = Object.fromEntries(Object.keys(set).map((k) => [k, process.env[k]]));
  Object.assign(process.env, set);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Runs `bitbucket-iac <args>` from `cwd`. */
export async function run(args: string[], cwd: string): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    args,
    (s) => out.push(s),
    (s) => err.push(s),
    cwd,
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** A temporary directory holding `files`, removed after the test file (test/hooks.ts). */
export function workdir(files: Record<string, string>): string {
  const dir = tempDir("bbiac-cli-");
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** A change made by hand (another tool, the UI): straight to the emulator's API. */
export async function byHand(
  emu: Emulator,
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<unknown> {
  const res = await axios.request({
    method,
    url: `${emu.apiUrl}${apiPath}`,
    data: body,
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  return res.data;
}
