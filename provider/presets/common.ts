// What every preset shares: the Preset shape, option checks, option formats, the consumer checks,
// the shell commands presets print, and the numbered `instructions` each one outputs.

import * as pulumi from "../pulumi";
import { quote } from "shell-quote";
import type { AccessToken, AccessTokenArgs } from "../resources/access-token";
import type { DeployKey, DeployKeyArgs } from "../resources/deploy-key";
import type { OAuthConsumer } from "../resources/oauth-consumer";
import type { PipelineVariable, PipelineVariableArgs } from "../resources/pipeline-variable";
import type { SshKey, SshKeyArgs } from "../resources/ssh-key";
import type { Flavor } from "../resources/validate";
import type { Webhook, WebhookArgs } from "../resources/webhook";
import { checkboxOf, missing } from "../scopes";
import { didYouMean, suggestFor } from "../suggest";

export type Options = Record<string, unknown>;

/** Declares one resource: the resource's own constructor, as Integration hands it down. */
export type Declares<Args, R> = (name: string, args: Args, opts: pulumi.CustomResourceOptions) => R;

/**
 * The resources a preset may declare, one per kind of child (the keys are `PresetChild` kinds).
 * The presets sit below the resources and import none of them at run time (types only, which
 * compile to nothing): `Integration`, a resource, hands the constructors down.
 */
export interface Declare {
  webhook: Declares<WebhookArgs, Webhook>;
  deployKey: Declares<DeployKeyArgs, DeployKey>;
  variable: Declares<PipelineVariableArgs, PipelineVariable>;
  sshKey: Declares<SshKeyArgs, SshKey>;
  accessToken: Declares<AccessTokenArgs, AccessToken>;
}

/** What a preset's `build` gets: where to create children, and a gate every child input goes through. */
export interface BuildContext {
  /** The integration's name, prefix of every child's name. */
  name: string;
  flavor: Flavor;
  /** Cloud: the workspace ("" on Data Center). */
  workspace: string;
  /** Data Center: the project of the repositories. */
  project?: string;
  /** Data Center: the server's base URL as the platform reaches it (option `url`, else bitbucket:apiUrl). */
  serverUrl?: string;
  repositories: string[];
  options: Options;
  consumer?: OAuthConsumer;
  /** Child resource options: parent, a dependency on the consumer, and retainOnDelete. */
  opts: pulumi.CustomResourceOptions;
  /** The children's constructors. */
  declare: Declare;
  /** Whether children may take over existing objects that differ (the integration's `adopt`). */
  adopt: boolean;
  /** Holds a value back until the consumer is verified to cover the preset's scopes. */
  gate: <T>(v: pulumi.Input<T>) => pulumi.Output<T>;
  /** How the operator reveals one of this integration's secret outputs: a command in backquotes, or words. */
  reveal: (output: string) => string;
}

/** What the platform's guide says its OAuth consumer must be, beyond its scopes. */
export interface ConsumerNeeds {
  /** "This is a private consumer" must be ticked (the platform uses the client_credentials grant). */
  private?: boolean;
  /** The consumer's callback URL: exactly this one, or any (`url` is the guide's suggestion). */
  callbackUrl?: { url: string; exact: boolean };
}

export interface Preset {
  title: string;
  /** The platform's own setup guide the preset follows (a URL where one was confirmed). */
  guide: string;
  consumer: "required" | "optional" | "none";
  /** Why a consumer is refused, when `consumer` is "none": what the platform uses instead. */
  noConsumer?: string;
  consumerNeeds?: ConsumerNeeds;
  repositories: "none" | "one" | "many";
  /** Why `repositories` is refused, when the preset has none (what the platform reaches instead). */
  noRepositories?: string;
  /** Scopes the platform needs the consumer to have. */
  requiredScopes(options: Options): string[];
  /** Problems with the options, each "option: what to do". Program-time, no network. */
  validate(options: Options): string[];
  /**
   * The format each text option must have where the platform defines one (its value goes into a
   * command the operator runs). validate() refuses a value outside it; so does the manifest loader,
   * at the option's line and column.
   */
  formats?: Record<string, OptionFormat>;
  /** The objects the options make on each repository (or the account), for the manifest's collision checks. */
  children(options: Options, name: string): PresetChild[];
  /**
   * Declares the children and returns what the platform side needs (secret parts as secret
   * outputs), always with `instructions`: the platform-side steps of its guide, in order.
   */
  build(ctx: BuildContext): Record<string, pulumi.Output<unknown>>;
}

/** One object a preset creates: a webhook URL, a key, a variable name; `path` is its option. */
export interface PresetChild {
  kind: "webhook" | "deployKey" | "variable" | "sshKey" | "accessToken";
  /** The URL, key, variable name or token name. */
  value: string;
  path: string;
  /** The user an SSH key or access token belongs to (Data Center presets; Cloud: the credentials' account). */
  owner?: string;
}

/** A format an option's value must have, and what to write instead (the value is never echoed: a URL may carry a token). */
export interface OptionFormat {
  test(value: string): boolean;
  what: string;
}

// ---- option checks ----------------------------------------------------------------------------

export const str = (v: unknown): v is string => typeof v === "string";
export const listOf = <T>(o: Options, k: string): T[] => (Array.isArray(o[k]) ? (o[k] as T[]) : []);
export const bool = (o: Options, k: string, dflt: boolean): boolean =>
  typeof o[k] === "boolean" ? (o[k] as boolean) : dflt;

/** A manifest's secret reference, as validate() sees it before it is resolved. */
export const isSecretRef = (v: unknown): v is { fromConfig: string } | { fromEnv: string } =>
  typeof v === "object" && v !== null && ("fromConfig" in v || "fromEnv" in v);

export type Rule = [option: string, type: "string" | "boolean" | "string[]" | "number", required: boolean];

/**
 * "option: what to do" for each option of the wrong type, or required and missing. A required
 * option an unknown one is closest to is not said to be missing: the unknown one's "did you mean"
 * (unknownOptions) says it, once.
 */
export const problemsOf = (o: Options, rules: Rule[]): string[] => {
  const named = rules.map(([k]) => k);
  const misspelt = new Set(
    Object.keys(o)
      .filter((u) => !named.includes(u))
      .map((u) => suggestFor(u, named, 1)[0]),
  );
  return rules.flatMap(([k, type, required]) => {
    const v = o[k];
    if (v === undefined) return required && !misspelt.has(k) ? [`${k}: required`] : [];
    if (pulumi.Output.isInstance(v)) return []; // a secret or computed value: checked by the resource that takes it
    if (isSecretRef(v)) return []; // the manifest's { fromConfig } / { fromEnv }: resolved to a secret when deployed
    if (type === "string[]")
      return Array.isArray(v) && v.every((x) => typeof x === "string")
        ? []
        : [`${k}: must be a list of text`];
    if (type === "number")
      return Number.isInteger(v) && (v as number) > 0 ? [] : [`${k}: must be a whole number above 0`];
    return typeof v === type ? [] : [`${k}: must be ${type === "boolean" ? "true or false" : "text"}`];
  });
};

/**
 * Options the preset does not take. `refused` names options a guide has no place for (or that
 * earlier versions took) with what to do instead; any other unknown option lists the known ones.
 */
export const unknownOptions = (o: Options, known: string[], refused: Record<string, string> = {}): string[] =>
  Object.keys(o)
    .filter((k) => !known.includes(k))
    .map((k) => {
      if (Object.hasOwn(refused, k)) return `${k}: ${refused[k]}`;
      return `${k}: not an option of this preset${didYouMean(k, known)} (options: ${known.join(", ") || "none"})`;
    });

/** "option: what to write" for each text option outside its format. */
export const misformatted = (o: Options, formats: Record<string, OptionFormat>): string[] =>
  Object.entries(formats).flatMap(([k, f]) =>
    typeof o[k] === "string" && !f.test(o[k]) ? [`${k}: ${f.what}`] : [],
  );

// ---- option formats ---------------------------------------------------------------------------

/** A Platform.sh project id as `platform project:list` prints it: lowercase letters and digits. */
export const PLATFORMSH_PROJECT: OptionFormat = {
  test: (v) => /^[a-z0-9]{1,64}$/.test(v),
  what: "must be a Platform.sh project id: lowercase letters and digits, as `platform project:list` prints it (e.g. abcdefgh1234567)",
};

/** A Bitbucket user slug, as the manifest's `accessTokens[].user` takes it. */
export const USER_SLUG: OptionFormat = {
  test: (v) => /^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$/.test(v),
  what: "must be a Bitbucket user slug: letters, digits, '.', '_', '@' and '-', starting with a letter or digit (e.g. ci-bot)",
};

/**
 * A server's base URL: http(s)://host[:port][/path] and nothing a base URL does not need (no
 * credentials, query or fragment), in characters that need no escaping; anything else %-encoded.
 */
export const BASE_URL: OptionFormat = {
  test: (v) => {
    if (!/^https?:\/\/[A-Za-z0-9.:[\]%-]+(\/[A-Za-z0-9._~%/-]*)?$/i.test(v)) return false;
    try {
      return new URL(v).hostname !== "";
    } catch {
      return false;
    }
  },
  what: "must be an http(s) base URL such as https://bitbucket.example.com: no spaces, user:password@, ?query or #fragment (other characters %-encoded)",
};

/** A host as a platform's form takes it: a base URL or host[:port][/path], no spaces or control characters. */
export const HOST: OptionFormat = {
  test: (v) => /^[^\s\p{C}`@?#]{1,255}$/u.test(v),
  what: "must be the server's address, e.g. https://bitbucket.example.com:8443/bitbucket (no spaces, user:password@, ?query or #fragment)",
};

/** A name shown in a platform's form (a friendly name): printable text, no control characters. */
export const FRIENDLY_NAME: OptionFormat = {
  test: (v) => /^[^\p{C}`]{1,100}$/u.test(v) && v.trim() === v,
  what: "must be 1 to 100 printable characters (no backquote), without leading or trailing spaces",
};

// ---- the OAuth consumer -----------------------------------------------------------------------

/** What a consumer declares (manifest entry or OAuthConsumer inputs). */
export interface DeclaredConsumer {
  scopes: string[];
  callbackUrl?: string;
  private: boolean;
}

/** One way a declared consumer falls short of the preset, with the consumer field to fix. */
export interface ConsumerProblem {
  field: "scopes" | "callbackUrl" | "private";
  /** Scopes the consumer does not declare (field "scopes"). */
  lacks?: string[];
  /** What to do, for "callbackUrl" and "private". */
  message?: string;
}

/** Where the consumer falls short of what the preset (and its guide) needs. Offline: declared values only. */
export function consumerProblems(preset: Preset, options: Options, c: DeclaredConsumer): ConsumerProblem[] {
  const problems: ConsumerProblem[] = [];
  const lacks = missing(c.scopes, preset.requiredScopes(options));
  if (lacks.length) problems.push({ field: "scopes", lacks });
  const cb = preset.consumerNeeds?.callbackUrl;
  if (cb?.exact && c.callbackUrl !== cb.url) {
    problems.push({ field: "callbackUrl", message: `${preset.title} requires callbackUrl: ${cb.url}` });
  } else if (cb && !c.callbackUrl) {
    problems.push({
      field: "callbackUrl",
      message: `${preset.title}'s guide requires a callback URL ("${cb.url}" is enough): set callbackUrl: ${cb.url} here and in Bitbucket`,
    });
  }
  if (preset.consumerNeeds?.private && !c.private) {
    problems.push({
      field: "private",
      message: `${preset.title}'s guide requires a private consumer: tick "This is a private consumer" in Bitbucket and remove private: false`,
    });
  }
  return problems;
}

/** The checkbox names of scopes, quoted, for messages and instructions. */
export const checkboxes = (scopes: string[]) => scopes.map((s) => `"${checkboxOf(s)}"`).join(", ");

// ---- commands the platform side runs ------------------------------------------------------------

/** A flag's value, or an environment variable the operator's shell expands (written `"$NAME"`). */
export type CommandValue = string | { env: string };

/** Characters every POSIX shell reads as themselves inside a word (Python's shlex.quote leaves the same set bare). */
const SHELL_SAFE = /^[A-Za-z0-9@%+=:,./_-]+$/;

/** One shell word that the shell reads back as exactly `v`: bare when every character is safe, else quoted. */
function word(v: CommandValue | undefined): string {
  if (typeof v === "object") return `"$${v.env}"`;
  const s = v ?? ""; // an output not known yet: a preview, or `plan` offline
  return SHELL_SAFE.test(s) ? s : quote([s]);
}

/**
 * `platform <subcommand> [args] --name=value ...` as shell text (default `integration:add`). Each
 * value is one shell word the shell reads back as exactly that value (bare when every character is
 * safe, so commands read as the platform's guide writes them): a value can never end the command,
 * start another, or comment out the flags after it.
 */
export function platformCommand(
  flags: Array<[name: string, value: CommandValue]>,
  subcommand = "integration:add",
  args: CommandValue[] = [],
): string {
  return [
    "platform",
    subcommand,
    ...args.map(word),
    ...flags.map(([name, v]) => `--${name}=${word(v)}`),
  ].join(" ");
}

// ---- instructions -----------------------------------------------------------------------------

/**
 * A step on one line, as it reads: control and format characters (bidirectional overrides,
 * zero-width spaces) and line separators in a value show as `\uXXXX`, so none can start a step of
 * its own or make text read otherwise than it is.
 */
const oneLine = (s: string) =>
  s.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** Numbered steps, skipping the ones that do not apply (false or undefined), each on one line. */
export const numbered = (steps: Array<string | false | undefined>): string[] =>
  steps.filter((s): s is string => typeof s === "string").map((s, i) => `${i + 1}. ${oneLine(s)}`);

/** Steps that name values only known once resources exist (fingerprints, ids): never secret ones. */
export function instructions<T extends unknown[]>(
  values: { [K in keyof T]: pulumi.Input<T[K]> },
  steps: (...v: T) => Array<string | false | undefined>,
): pulumi.Output<string[]> {
  return pulumi.all(values as pulumi.Input<unknown>[]).apply((v) => numbered(steps(...(v as unknown as T))));
}

/** `{repository: output}` from per-repository children. */
export const byRepository = <T>(repos: string[], values: pulumi.Output<T>[]) =>
  pulumi.all(values).apply((vs) => Object.fromEntries(repos.map((r, i) => [r, vs[i]])));
