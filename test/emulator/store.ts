// The emulator's in-memory Bitbucket: workspaces and their repositories, webhooks,
// credentials with their scopes, and OAuth consumers. Plain data; routes change it.

import { randomUUID } from "crypto";
import { isKeyError, parsePublicKey } from "../../provider/ssh";
import { DcStore, type DcSeed } from "./dc";
import { InsightsStore } from "./insights";

export interface Hook {
  uuid: string;
  url: string;
  description: string;
  active: boolean;
  events: string[];
  secret?: string;
  skip_cert_verification: boolean;
  history_enabled: boolean;
  read_only: boolean | null;
  source: string | null;
  created_at: string;
  subject_type: "repository" | "workspace";
}

/** A deploy key (repository or project) or a user's SSH key. */
export interface KeyRec {
  /** Integer for deploy keys; deploy keys have no uuid. */
  id: number;
  /** Braced; user SSH keys are addressed by it. */
  uuid: string;
  /** `type base64`: Bitbucket strips the comment into `comment`. */
  key: string;
  comment: string;
  label: string;
  created_on: string;
  fingerprint: string;
}

export interface Variable {
  uuid: string;
  key: string;
  value: string;
  secured: boolean;
}

export interface Environment {
  uuid: string;
  name: string;
  variables: Variable[];
}

export interface KnownHost {
  uuid: string;
  hostname: string;
  key_type: string;
  key: string;
}

export interface Repo {
  slug: string;
  uuid: string;
  /** Key of the project the repository is in. */
  project?: string;
  hooks: Hook[];
  deployKeys: KeyRec[];
  variables: Variable[];
  environments: Environment[];
  knownHosts: KnownHost[];
  keyPair?: { private_key: string; public_key: string };
  /** Pull requests by id (only their comments are modelled). */
  pullRequests: Map<number, PullRequest>;
}

export interface PullRequest {
  id: number;
  title: string;
  comments: Comment[];
}

export interface Comment {
  id: number;
  raw: string;
  /** account_id of the author. */
  author: string;
  created_on: string;
  updated_on: string;
  deleted: boolean;
}

export interface Project {
  key: string;
  uuid: string;
  deployKeys: KeyRec[];
}

export interface Workspace {
  slug: string;
  uuid: string;
  repos: Map<string, Repo>;
  projects: Map<string, Project>;
  hooks: Hook[];
  variables: Variable[];
}

/** A Bitbucket user; credentials act as one. */
export interface Account {
  uuid: string;
  account_id: string;
  nickname: string;
  display_name: string;
  sshKeys: KeyRec[];
}

/** A credential: an OAuth/access token (Bearer) or an Atlassian API token (Basic). */
export interface Credential {
  scopes: string[];
  /** Access tokens (repository/project/workspace) get X-RateLimit-* headers. */
  kind: "oauth" | "access-token" | "api-token";
  /** Epoch ms (the store's clock); a token past it answers 401 (Cloud: "Access token expired."). */
  expiresAt?: number;
  /** Account the credential acts as (its account_id); default: the seeded "me". */
  account?: string;
  /** Data Center: the user slug it acts as (default "me"). */
  dcUser?: string;
  /** Data Center: the highest permission it holds (default SYS_ADMIN); less answers 401, as DC does. */
  dcPermission?: DcPermission;
}

/** Data Center permissions, weakest first (a simplification of DC's per-project/repository grants). */
export const DC_PERMISSIONS = [
  "LICENSED_USER", "REPO_READ", "PROJECT_READ", "REPO_WRITE", "PROJECT_WRITE", "REPO_ADMIN", "PROJECT_ADMIN", "ADMIN", "SYS_ADMIN",
] as const; // prettier-ignore
export type DcPermission = (typeof DC_PERMISSIONS)[number];

export interface Consumer {
  key: string;
  secret: string;
  scopes: string[];
  private: boolean;
}

export interface Seed {
  /** workspace slug -> repository slugs */
  workspaces?: Record<string, string[]>;
  /** Bearer token -> credential */
  tokens?: Record<string, Partial<Credential> & { scopes: string[] }>;
  /** "user:password" (Basic) -> credential */
  users?: Record<string, { scopes: string[] }>;
  consumers?: Consumer[];
  /** workspace slug -> project keys */
  projects?: Record<string, string[]>;
  /** "workspace/PROJECT" -> repository slugs in that project (both created) */
  projectRepos?: Record<string, string[]>;
  /** "workspace/repo" -> ids of open pull requests on it */
  pullRequests?: Record<string, number[]>;
  /** The Data Center side (/rest): projects, repositories, users. */
  dc?: DcSeed;
}

/** Environments Bitbucket creates for every repository with Pipelines. */
export const DEFAULT_ENVIRONMENTS = ["Test", "Staging", "Production"];

/** The account every seeded credential acts as, unless it names another. */
export const ME = { account_id: "557058:0d4c1b5e-me", nickname: "me", display_name: "Me Example" };

export const ALL_SCOPES = [
  "account", "account:write", "email", "issue", "issue:write", "pipeline", "pipeline:variable", "pipeline:write",
  "project", "project:admin", "pullrequest", "pullrequest:write", "repository", "repository:admin",
  "repository:delete", "repository:write", "runner", "runner:write", "snippet", "snippet:write", "webhook", "wiki",
]; // prettier-ignore

export const braced = () => `{${randomUUID()}}`;

export class Store {
  workspaces = new Map<string, Workspace>();
  tokens = new Map<string, Credential>();
  users = new Map<string, Credential>();
  consumers = new Map<string, Consumer>();
  accounts = new Map<string, Account>();
  dc: DcStore;
  /** Code Insights reports and annotations, both flavors. */
  insights = new InsightsStore();
  /**
   * The emulator's clock (epoch ms): Data Center token dates and expiry, credential expiry. A test
   * moves it, and gives the provider's host the same instant through BITBUCKET_IAC_NOW.
   */
  now: () => number = () => Date.now();
  private nextKeyId = 1;
  /** Comment ids are unique across the store, as Bitbucket's are. */
  nextCommentId = 1000;

  constructor(seed: Seed) {
    this.dc = new DcStore(seed.dc);
    this.addAccount(ME.account_id, ME.nickname, ME.display_name);
    for (const [ws, repos] of Object.entries(seed.workspaces ?? {})) {
      this.addWorkspace(ws);
      for (const r of repos) this.addRepo(ws, r);
    }
    for (const [ws, keys] of Object.entries(seed.projects ?? {})) {
      for (const k of keys) this.addProject(ws, k);
    }
    for (const [where, repos] of Object.entries(seed.projectRepos ?? {})) {
      const [ws = "", key = ""] = where.split("/");
      if (!this.workspaces.get(ws)?.projects.has(key)) this.addProject(ws, key);
      for (const r of repos) this.addRepo(ws, r).project = key;
    }
    for (const [where, ids] of Object.entries(seed.pullRequests ?? {})) {
      const [ws = "", repo = ""] = where.split("/");
      for (const id of ids) this.addPullRequest(ws, repo, id);
    }
    for (const [t, c] of Object.entries(seed.tokens ?? {})) this.tokens.set(t, { kind: "oauth", ...c });
    for (const [u, c] of Object.entries(seed.users ?? {})) this.users.set(u, { kind: "api-token", ...c });
    for (const c of seed.consumers ?? []) this.consumers.set(c.key, c);
  }

  addWorkspace(slug: string): Workspace {
    const ws: Workspace = {
      slug,
      uuid: braced(),
      repos: new Map(),
      projects: new Map(),
      hooks: [],
      variables: [],
    };
    this.workspaces.set(slug, ws);
    return ws;
  }

  addRepo(ws: string, slug: string): Repo {
    const w = this.workspaces.get(ws) ?? this.addWorkspace(ws);
    const repo: Repo = {
      slug,
      uuid: braced(),
      hooks: [],
      deployKeys: [],
      variables: [],
      environments: DEFAULT_ENVIRONMENTS.map((name) => ({ uuid: braced(), name, variables: [] })),
      knownHosts: [],
      pullRequests: new Map(),
    };
    w.repos.set(slug, repo);
    return repo;
  }

  addPullRequest(ws: string, repo: string, id: number): PullRequest {
    const r = this.workspaces.get(ws)?.repos.get(repo) ?? this.addRepo(ws, repo);
    const pr: PullRequest = { id, title: `Pull request ${id}`, comments: [] };
    r.pullRequests.set(id, pr);
    return pr;
  }

  addProject(ws: string, key: string): Project {
    const w = this.workspaces.get(ws) ?? this.addWorkspace(ws);
    const project: Project = { key, uuid: braced(), deployKeys: [] };
    w.projects.set(key, project);
    return project;
  }

  addAccount(account_id: string, nickname: string, display_name = nickname): Account {
    const a: Account = { uuid: braced(), account_id, nickname, display_name, sshKeys: [] };
    this.accounts.set(account_id, a);
    return a;
  }

  /** An account by account_id or {uuid} (braces optional). */
  account(selected: string): Account | undefined {
    const braces = selected.startsWith("{") ? selected : `{${selected}}`;
    return (
      this.accounts.get(selected) ?? [...this.accounts.values()].find((a) => a.uuid === braces.toLowerCase())
    );
  }

  /** A new key record; `id` is an integer, as deploy keys have. */
  keyRecord(key: string, comment: string, label: string, fingerprint: string): KeyRec {
    return {
      id: this.nextKeyId++,
      uuid: braced(),
      key,
      comment,
      label,
      created_on: new Date().toISOString(),
      fingerprint,
    };
  }

  /** Puts a hook in place as if made outside our provider (by hand, or by an app). */
  addHook(ws: string, repo: string | undefined, h: Partial<Hook> & { url: string }): Hook {
    const w = this.workspaces.get(ws);
    const list = repo === undefined ? w?.hooks : w?.repos.get(repo)?.hooks;
    if (!list)
      throw new Error(`[emulator] no ${repo === undefined ? "workspace" : "repository"} ${ws}/${repo ?? ""}`);
    const hook: Hook = {
      uuid: braced(),
      description: "",
      active: true,
      events: ["repo:push"],
      skip_cert_verification: false,
      history_enabled: false,
      read_only: null,
      source: null,
      created_at: "2024-01-01T00:00:00.000000Z",
      subject_type: repo === undefined ? "workspace" : "repository",
      ...h,
    };
    list.push(hook);
    return hook;
  }

  /** Adds a deploy key as if made by hand: to a repository, or to a project with `{ project }`. */
  addDeployKey(ws: string, owner: string | { project: string }, publicLine: string, label = ""): KeyRec {
    const w = this.workspaces.get(ws);
    const list =
      typeof owner === "string"
        ? w?.repos.get(owner)?.deployKeys
        : w?.projects.get(owner.project)?.deployKeys;
    const parsed = parsePublicKey(publicLine);
    if (!list || isKeyError(parsed))
      throw new Error(`[emulator] cannot add deploy key to ${ws}/${JSON.stringify(owner)}`);
    const rec = this.keyRecord(parsed.normalized, parsed.comment, label, parsed.fingerprint);
    list.push(rec);
    return rec;
  }

  /** Every hook in the store, for assertions. */
  /**
   * Empties every workspace, repository, project and user of its objects (hooks, keys, variables,
   * known hosts, key pairs, tokens), keeping the repositories, projects and environments: a property
   * test runs its cases on one emulator.
   */
  emptyObjects(): void {
    for (const ws of this.workspaces.values()) {
      ws.hooks.length = 0;
      ws.variables.length = 0;
      for (const p of ws.projects.values()) p.deployKeys.length = 0;
      for (const r of ws.repos.values()) {
        r.hooks.length = 0;
        r.deployKeys.length = 0;
        r.variables.length = 0;
        r.knownHosts.length = 0;
        delete r.keyPair;
        for (const e of r.environments) e.variables.length = 0;
      }
    }
    for (const a of this.accounts.values()) a.sshKeys.length = 0;
    for (const p of this.dc.projects.values()) {
      p.hooks.length = 0;
      p.grants.length = 0;
      p.tokens.length = 0;
      for (const r of p.repos.values()) {
        r.hooks.length = 0;
        r.grants.length = 0;
        r.tokens.length = 0;
      }
    }
    for (const u of this.dc.users.values()) u.tokens.length = 0;
    this.dc.keys.clear();
  }

  allHooks(): Hook[] {
    const out: Hook[] = [];
    for (const w of this.workspaces.values()) {
      out.push(...w.hooks);
      for (const r of w.repos.values()) out.push(...r.hooks);
    }
    return out;
  }
}
