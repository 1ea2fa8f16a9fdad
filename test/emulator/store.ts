// The emulator's in-memory Bitbucket: workspaces and their repositories, webhooks,
// credentials with their scopes, and OAuth consumers. Plain data; routes change it.

import { randomUUID } from "crypto";

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

export interface Repo {
  slug: string;
  uuid: string;
  hooks: Hook[];
}

export interface Workspace {
  slug: string;
  uuid: string;
  repos: Map<string, Repo>;
  hooks: Hook[];
}

/** A credential: an OAuth/access token (Bearer) or an Atlassian API token (Basic). */
export interface Credential {
  scopes: string[];
  /** Access tokens (repository/project/workspace) get X-RateLimit-* headers. */
  kind: "oauth" | "access-token" | "api-token";
  /** Epoch ms; an OAuth token past it answers 401 "Access token expired." */
  expiresAt?: number;
}

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
}

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

  constructor(seed: Seed) {
    for (const [ws, repos] of Object.entries(seed.workspaces ?? {})) {
      this.addWorkspace(ws);
      for (const r of repos) this.addRepo(ws, r);
    }
    for (const [t, c] of Object.entries(seed.tokens ?? {})) this.tokens.set(t, { kind: "oauth", ...c });
    for (const [u, c] of Object.entries(seed.users ?? {})) this.users.set(u, { kind: "api-token", ...c });
    for (const c of seed.consumers ?? []) this.consumers.set(c.key, c);
  }

  addWorkspace(slug: string): Workspace {
    const ws = { slug, uuid: braced(), repos: new Map(), hooks: [] };
    this.workspaces.set(slug, ws);
    return ws;
  }

  addRepo(ws: string, slug: string): Repo {
    const w = this.workspaces.get(ws) ?? this.addWorkspace(ws);
    const repo = { slug, uuid: braced(), hooks: [] };
    w.repos.set(slug, repo);
    return repo;
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

  /** Every hook in the store, for assertions. */
  allHooks(): Hook[] {
    const out: Hook[] = [];
    for (const w of this.workspaces.values()) {
      out.push(...w.hooks);
      for (const r of w.repos.values()) out.push(...r.hooks);
    }
    return out;
  }
}
