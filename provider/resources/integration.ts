// Integration: "connect platform X to Bitbucket" as one declaration. A component that checks
// the OAuth consumer covers what the platform needs, then creates the platform's webhooks,
// keys and variables as children, and exports what the platform side needs.
//
// Order matters and is enforced by data, not hope: every child's inputs pass through a gate
// that resolves only once the consumer is verified (its OAuthConsumer create proved the
// credentials) and its declared and granted scopes cover the preset's. A consumer that lacks
// a scope therefore fails the run before any Bitbucket object is written. Children also
// depend on the consumer, so a destroy removes them first.
//
// On Data Center (`flavor: "datacenter"`, or a `project`) the platform's Server preset is used:
// no consumer; the child is the personal HTTP access token the platform signs in with.

import * as pulumi from "../pulumi";
import {
  BASE_URL,
  checkboxes,
  consumerProblems,
  DATACENTER_PRESETS,
  PRESETS,
  presetFor,
  type Declare,
  type Options,
  type Preset,
  type PresetName,
} from "../presets";
import type { Policy } from "../policy/rules";
import { missing } from "../scopes";
import { AccessToken } from "./access-token";
import { DeployKey } from "./deploy-key";
import type { OAuthConsumer } from "./oauth-consumer";
import { PipelineVariable } from "./pipeline-variable";
import { SshKey } from "./ssh-key";
import type { Flavor } from "./validate";
import { Webhook } from "./webhook";

export interface IntegrationArgs {
  /** Which platform: platformsh, puppet-pipelines, shippable, ampersand, or generic. */
  preset: PresetName;
  /** `cloud` or `datacenter`. Default: datacenter when `project` is given, else cloud. */
  flavor?: Flavor;
  /** Cloud: workspace slug. */
  workspace?: string;
  /** Data Center: the project key of the repositories. */
  project?: string;
  /** Repository slugs the integration covers (platformsh: exactly one; ampersand: none). */
  repositories?: string[];
  /** Cloud: the verified OAuth consumer, for presets that need one. */
  consumer?: OAuthConsumer;
  /** Preset options (see README "Integrations"). */
  options?: Options;
  /** Let the children take over existing objects that differ from what the preset declares. Default false. */
  adopt?: boolean;
  /**
   * How `instructions` tell the operator to reveal one of the secret outputs: a command in
   * backquotes (the manifest passes its `pulumi stack output --show-secrets ...` command), or words.
   * Default: names the output.
   */
  reveal?: (output: string) => string;
  /**
   * Rules of a policy every child (webhook, key, variable, token) must meet, handed to each as its
   * own `policy` (see Webhook's). Checked by the provider's check; not kept in state.
   */
  policy?: pulumi.Input<Policy>;
}

/**
 * The resources a preset may declare (the presets sit below the resources: they are handed these),
 * each given the integration's policy.
 */
function declareWith(policy: pulumi.Input<Policy> | undefined): Declare {
  const p = policy === undefined ? {} : { policy };
  return {
    webhook: (name, args, opts) => new Webhook(name, { ...args, ...p }, opts),
    deployKey: (name, args, opts) => new DeployKey(name, { ...args, ...p }, opts),
    variable: (name, args, opts) => new PipelineVariable(name, { ...args, ...p }, opts),
    sshKey: (name, args, opts) => new SshKey(name, { ...args, ...p }, opts),
    accessToken: (name, args, opts) => new AccessToken(name, { ...args, ...p }, opts),
  };
}

export class Integration extends pulumi.ComponentResource {
  /** Resolves to true once the consumer is verified to cover the preset; fails the run otherwise. */
  public readonly ready: pulumi.Output<boolean>;
  /** What the platform side needs (commands, environment, ids), one output each; secret ones are secret outputs. */
  public readonly outputs: Record<string, pulumi.Output<unknown>>;
  /** The scopes the preset needs the consumer to have. */
  public readonly requiredScopes: string[];

  constructor(name: string, args: IntegrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bitbucket:index:Integration", name, {}, opts);
    const flavor = args.flavor ?? (args.project !== undefined ? "datacenter" : "cloud");
    const preset = presetFor(args.preset, flavor);
    if (!preset) {
      const known = Object.keys(flavor === "cloud" ? PRESETS : DATACENTER_PRESETS).join(", ");
      throw new Error(
        `integration ${name}: ${Object.hasOwn(PRESETS, args.preset) ? `preset "${args.preset}" is for Bitbucket Cloud only` : `unknown preset "${String(args.preset)}"`} (${flavor === "cloud" ? "presets" : "Data Center presets"}: ${known})`,
      );
    }
    const options = args.options ?? {};
    const repositories = args.repositories ?? [];
    const serverUrl = flavor === "datacenter" ? serverUrlOf(options) : undefined;
    const problems = [
      ...(flavor === "cloud" && !args.workspace ? ["workspace: the workspace slug, e.g. acme"] : []),
      ...(flavor === "datacenter" && !args.project
        ? ["project: the project key of the repositories, e.g. PROJ"]
        : []),
      ...(flavor === "datacenter" && serverUrl === undefined
        ? [
            "url: the server's base URL as the platform reaches it, e.g. https://bitbucket.example.com (bitbucket:apiUrl is not set to default it)",
          ]
        : []),
      ...(flavor === "datacenter" ? serverUrlProblem(options, serverUrl) : []),
      ...preset.validate(options),
      ...(preset.consumer === "required" && !args.consumer
        ? [`consumer: ${preset.title} needs an OAuth consumer`]
        : []),
      ...(preset.consumer === "none" && args.consumer
        ? [
            `consumer: ${preset.title} does not use an OAuth consumer (${preset.noConsumer ?? "none is needed"}); remove it`,
          ]
        : []),
      ...(preset.repositories === "one" && repositories.length !== 1
        ? [`repositories: ${preset.title} connects exactly one repository, got ${repositories.length}`]
        : []),
      ...(preset.repositories === "none" && repositories.length
        ? [`repositories: ${preset.noRepositories ?? `${preset.title} takes no repositories; remove them`}`]
        : []),
      ...(preset.repositories === "many" && new Set(repositories).size !== repositories.length
        ? ["repositories: listed twice"]
        : []),
    ];
    if (problems.length) {
      throw new Error(`integration ${name} (${args.preset}):\n  ${problems.join("\n  ")}`);
    }
    this.requiredScopes = preset.requiredScopes(options);
    const ready = args.consumer
      ? consumerGate(name, args.preset, preset, options, args.consumer)
      : pulumi.output(true);
    const outputs = preset.build({
      name,
      flavor,
      workspace: args.workspace ?? "",
      ...(args.project !== undefined && { project: args.project }),
      ...(serverUrl !== undefined && { serverUrl }),
      repositories,
      options,
      consumer: args.consumer,
      // retainOnDelete (and protect) given to the integration hold for its children too.
      opts: {
        parent: this,
        dependsOn: args.consumer ? [args.consumer] : [],
        ...(opts?.retainOnDelete !== undefined && { retainOnDelete: opts.retainOnDelete }),
      },
      declare: declareWith(args.policy),
      adopt: args.adopt === true,
      gate: <T>(v: pulumi.Input<T>) => pulumi.all([ready, v]).apply(([, x]) => x as T),
      reveal:
        args.reveal ??
        ((output) => `\`pulumi stack output --show-secrets\` (this integration's output ${output})`),
    });
    this.ready = ready;
    this.outputs = outputs;
    this.registerOutputs({ ready, ...outputs });
  }
}

/** The server's base URL a Data Center platform is given: option `url`, else the connection's bitbucket:apiUrl. */
function serverUrlOf(options: Options): string | undefined {
  const url =
    (typeof options.url === "string" && options.url) ||
    new pulumi.Config("bitbucket").get("apiUrl") ||
    process.env.BITBUCKET_API_URL;
  return url ? url.replace(/\/+$/, "") : undefined;
}

/**
 * Why the connection's URL cannot be handed to the platform (it goes into commands and
 * instructions that are not secret): it must be a plain base URL. The value is never echoed.
 */
const serverUrlProblem = (options: Options, url: string | undefined): string[] =>
  url === undefined || typeof options.url === "string" || BASE_URL.test(url)
    ? []
    : [
        "url: bitbucket:apiUrl is not a plain base URL (it has credentials, a query or a fragment, which would be printed for the platform); set options.url to the address the platform reaches, e.g. https://bitbucket.example.com",
      ];

/**
 * True once the consumer declares and was granted every scope the preset needs, and is what the
 * platform's guide says (callback URL, private); otherwise an error saying what to declare or tick.
 * Declared values are checked in previews too; granted scopes once the consumer is verified (a
 * public consumer's cannot be read: Bitbucket answers its grant with an error).
 */
function consumerGate(
  name: string,
  presetName: string,
  preset: Preset,
  options: Options,
  consumer: OAuthConsumer,
) {
  const where = `integration ${name} (${presetName})`;
  const required = preset.requiredScopes(options);
  const declared = pulumi
    .all([consumer.scopes, consumer.name, consumer.callbackUrl, consumer.private])
    .apply(([scopes, cname, callbackUrl, isPrivate]) => {
      const found = consumerProblems(preset, options, {
        scopes,
        ...(callbackUrl !== undefined && { callbackUrl }),
        private: isPrivate !== false,
      });
      const messages = found.map((p) =>
        p.lacks
          ? `does not declare ${p.lacks.join(", ")}; add them to its scopes and tick ${checkboxes(p.lacks)} in Bitbucket`
          : `${p.field === "private" ? "is declared private: false" : callbackUrl ? `has callback URL ${callbackUrl}` : "declares no callback URL"}: ${p.message!}`,
      );
      if (messages.length) throw new Error(`${where}: OAuth consumer "${cname}" ${messages.join("; ")}`);
      return true;
    });
  return pulumi
    .all([declared, consumer.grantedScopes, consumer.name, consumer.private])
    .apply(([, granted, cname, isPrivate]) => {
      if (isPrivate === false) return true; // public: nothing granted can be read back
      const lacks = missing(granted, required);
      if (lacks.length) {
        throw new Error(
          `${where}: OAuth consumer "${cname}" was not granted ${lacks.join(", ")}; tick ${checkboxes(lacks)} in Workspace settings > OAuth consumers > ${cname} > Edit`,
        );
      }
      return true;
    });
}
