// The emulator's Bitbucket Data Center (shared/bitbucket-api.md §8, §9 items 11-16): projects and
// their repositories, webhooks, SSH keys (one record per key on the server, shared by the
// repositories and projects it gives access to, or owned by a user), HTTP access tokens, and pull
// requests with their general comments and activity (what `plan --comment` uses).
// Plain data and the helpers every /rest route shares: the error envelope, paging, lookups.

import { randomBytes } from "crypto";
import { isKeyError, parsePublicKey } from "../../provider/ssh";
import type { Ctx, Reply } from "./server";
import { isReply } from "./routes/common";

export interface DcHook {
  id: number;
  name: string;
  url: string;
  active: boolean;
  events: string[];
  configuration: Record<string, string>;
  sslVerificationRequired: boolean;
  createdDate: number;
  updatedDate: number;
}

/** An SSH key on the server: a user's (personal) key, or an access key record shared by grants. */
export interface DcKey {
  id: number;
  /** `type base64 comment` as added. */
  text: string;
  label: string;
  /** SHA-256, unpadded base64, no prefix (the spec's example). */
  fingerprint: string;
  algorithmType: string;
  bitLength: number;
  createdDate: number;
  /** The user a personal key belongs to; undefined for access keys. */
  user?: string;
}

/** An access key's grant on one repository or project. */
export interface DcGrant {
  keyId: number;
  permission: string;
}

export interface DcToken {
  id: string;
  name: string;
  permissions: string[];
  expiryDays?: number;
  createdDate: number;
  /** The token itself (the emulator's Bearer credential); deleting the token revokes it. */
  raw?: string;
}

/** A general (top-level) pull-request comment. */
export interface DcComment {
  id: number;
  text: string;
  /** Slug of the user who wrote it. */
  author: string;
  /** Starts at 0; every edit adds one. A PUT must send the current one (else 409). */
  version: number;
  createdDate: number;
  updatedDate: number;
}

/** One entry of a pull request's activity (newest is listed first). */
export interface DcActivity {
  id: number;
  action: "OPENED" | "COMMENTED";
  /** Slug of the user who acted. */
  user: string;
  createdDate: number;
  /** COMMENTED: the comment (the activity shows it as it is now) and what was done to it. */
  commentId?: number;
  commentAction?: "ADDED";
}

export interface DcPullRequest {
  id: number;
  title: string;
  version: number;
  createdDate: number;
  comments: DcComment[];
  activities: DcActivity[];
}

export interface DcRepo {
  id: number;
  slug: string;
  hooks: DcHook[];
  grants: DcGrant[];
  tokens: DcToken[];
  /** Pull requests by id (only what `plan --comment` reads and writes is modelled). */
  pullRequests: Map<number, DcPullRequest>;
}

/** A user of the server: `name` is the username (X-AUSERNAME names it), `slug` its URL form. */
export interface DcUser {
  slug: string;
  name: string;
  displayName: string;
  tokens: DcToken[];
}

export interface DcProject {
  id: number;
  key: string;
  repos: Map<string, DcRepo>;
  hooks: DcHook[];
  grants: DcGrant[];
  tokens: DcToken[];
}

export interface DcSeed {
  /** project key -> repository slugs */
  projects?: Record<string, string[]>;
  /** user slugs besides "me" (whom every credential acts as unless it names another) */
  users?: string[];
  /** "PROJECT/repo" -> ids of open pull requests on it (the repository is created) */
  pullRequests?: Record<string, number[]>;
  /**
   * Answer webhooks without `configuration.secret` (GET list, GET one, POST and PUT answers), as a
   * server that masks it would: Atlassian does not document that 9.x returns it. Default false
   * (returned as stored). `npm run emulator` sets it from EMULATOR_DC_MASK_WEBHOOK_SECRET=1.
   */
  maskWebhookSecret?: boolean;
}

/** How many HTTP access tokens one owner may hold (a server setting; the spec's 400 "maximum"). */
export const DC_MAX_TOKENS = 100;

export class DcStore {
  projects = new Map<string, DcProject>();
  keys = new Map<number, DcKey>();
  users = new Map<string, DcUser>();
  /** See DcSeed.maskWebhookSecret; tests may switch it at any time. */
  maskWebhookSecret: boolean;
  /**
   * What an authenticated answer's `X-AUSERNAME` header carries for its user's name: the name, as
   * Data Center sends it (community.developer.atlassian.com/t/24422). Tests may change it;
   * undefined sends no header (a proxy in between drops it).
   */
  userHeader: (name: string) => string | undefined = (name) => name;
  private nextId = 1;

  constructor(seed: DcSeed = {}) {
    this.maskWebhookSecret = seed.maskWebhookSecret === true;
    for (const u of ["me", ...(seed.users ?? [])]) this.addUser(u);
    for (const [key, repos] of Object.entries(seed.projects ?? {})) {
      this.addProject(key);
      for (const r of repos) this.addRepo(key, r);
    }
    for (const [where, ids] of Object.entries(seed.pullRequests ?? {})) {
      const [project = "", repo = ""] = where.split("/");
      for (const id of ids) this.addPullRequest(project, repo, id);
    }
  }

  /** A user; `name` (the username) defaults to the slug. */
  addUser(slug: string, name = slug, displayName = name): DcUser {
    const u: DcUser = { slug, name, displayName, tokens: [] };
    this.users.set(slug, u);
    return u;
  }

  id(): number {
    return this.nextId++;
  }

  addProject(key: string): DcProject {
    const p: DcProject = { id: this.id(), key, repos: new Map(), hooks: [], grants: [], tokens: [] };
    this.projects.set(key, p);
    return p;
  }

  addRepo(project: string, slug: string): DcRepo {
    const p = this.projects.get(project) ?? this.addProject(project);
    const r: DcRepo = { id: this.id(), slug, hooks: [], grants: [], tokens: [], pullRequests: new Map() };
    p.repos.set(slug, r);
    return r;
  }

  /** An open pull request, opened by "me" (the repository is created if need be). */
  addPullRequest(project: string, repo: string, id: number): DcPullRequest {
    const r = this.projects.get(project)?.repos.get(repo) ?? this.addRepo(project, repo);
    const now = Date.now();
    const pr: DcPullRequest = {
      id,
      title: `Pull request ${id}`,
      version: 0,
      createdDate: now,
      comments: [],
      activities: [{ id: this.id(), action: "OPENED", user: "me", createdDate: now }],
    };
    r.pullRequests.set(id, pr);
    return pr;
  }

  /** A general comment by `author` (a user slug), with its COMMENTED activity: one added by hand. */
  addComment(pr: DcPullRequest, author: string, text: string): DcComment {
    const now = Date.now();
    const c: DcComment = { id: this.id(), text, author, version: 0, createdDate: now, updatedDate: now };
    pr.comments.push(c);
    pr.activities.unshift({
      id: this.id(),
      action: "COMMENTED",
      user: author,
      createdDate: now,
      commentId: c.id,
      commentAction: "ADDED",
    });
    return c;
  }

  /** A hook put in place as if made by hand in repository (or project) settings. */
  addHook(project: string, repo: string | undefined, h: Partial<DcHook> & { url: string }): DcHook {
    const p = this.projects.get(project);
    const list = repo === undefined ? p?.hooks : p?.repos.get(repo)?.hooks;
    if (!list)
      throw new Error(
        `[emulator] no Data Center ${repo ? "repository" : "project"} ${project}/${repo ?? ""}`,
      );
    const now = Date.now();
    const hook: DcHook = {
      id: this.id(),
      name: "added by hand",
      active: true,
      events: ["repo:refs_changed"],
      configuration: {},
      sslVerificationRequired: true,
      createdDate: now,
      updatedDate: now,
      ...h,
    };
    list.push(hook);
    return hook;
  }

  /** The key record for `text`: the one already on the server with its fingerprint, or a new one. */
  keyFor(text: string, label: string, user?: string): DcKey | { error: string } {
    const parsed = parsePublicKey(text);
    if (isKeyError(parsed)) return { error: parsed.error };
    const fingerprint = parsed.fingerprint.replace(/^SHA256:/, "");
    const existing = [...this.keys.values()].find((k) => k.fingerprint === fingerprint);
    if (existing) return existing;
    const type = parsed.normalized.split(" ")[0] ?? "";
    const k: DcKey = {
      id: this.id(),
      text: text.trim(),
      label,
      fingerprint,
      algorithmType: type.includes("ed25519") ? "ED25519" : type.includes("rsa") ? "RSA" : "ECDSA",
      bitLength: parsed.bits,
      createdDate: Date.now(),
      ...(user !== undefined && { user }),
    };
    this.keys.set(k.id, k);
    return k;
  }

  /** Grants an access key on a repository or project, as if added by hand. */
  addAccessKey(
    project: string,
    repo: string | undefined,
    text: string,
    permission: string,
    label = "",
  ): DcKey {
    const p = this.projects.get(project);
    const grants = repo === undefined ? p?.grants : p?.repos.get(repo)?.grants;
    const k = this.keyFor(text, label);
    if (!grants || "error" in k)
      throw new Error(`[emulator] cannot add access key to ${project}/${repo ?? ""}`);
    grants.push({ keyId: k.id, permission });
    return k;
  }

  /** Forgets an access key no repository or project uses any more (its label goes with it). */
  dropIfUnused(keyId: number): void {
    const k = this.keys.get(keyId);
    if (!k || k.user !== undefined) return;
    for (const p of this.projects.values()) {
      if (p.grants.some((g) => g.keyId === keyId)) return;
      for (const r of p.repos.values()) if (r.grants.some((g) => g.keyId === keyId)) return;
    }
    this.keys.delete(keyId);
  }

  /** Adds a personal SSH key to a user, as if added by hand. */
  addUserKey(user: string, text: string, label = ""): DcKey {
    const k = this.keyFor(text, label, user);
    if ("error" in k) throw new Error(`[emulator] bad key: ${k.error}`);
    return k;
  }

  /** A new HTTP access token's id and raw value. */
  newToken(): { id: string; raw: string } {
    const id = String(100_000_000_000 + this.id());
    return { id, raw: Buffer.from(`${id}:${randomBytes(24).toString("base64")}`).toString("base64") };
  }
}

// ---- what every /rest route shares -----------------------------------------------------------

const EXCEPTIONS: Record<number, string> = {
  400: "com.atlassian.bitbucket.validation.ArgumentValidationException",
  401: "com.atlassian.bitbucket.AuthorisationException",
  404: "com.atlassian.bitbucket.NoSuchEntityException",
  405: "com.sun.jersey.api.NotFoundException",
  409: "com.atlassian.bitbucket.DuplicateEntityException",
  429: "com.atlassian.bitbucket.ratelimit.RateLimitedException",
};

/** Data Center's error envelope: `{"errors":[{context, message, exceptionName}]}` (§8.1). */
export function dcError(status: number, message: string, context: string | null = null): Reply {
  return {
    status,
    body: { errors: [{ context, message, exceptionName: EXCEPTIONS[status] ?? null }] },
  };
}

/** The emulator's page size cap (an admin setting on a real server; kept small so tests cross pages). */
export const DC_MAX_LIMIT = 100;

/** One page: `start`, `limit` (default 25), `isLastPage`, and `nextPageStart` while more remain. */
export function dcPage<T>(ctx: Ctx, items: T[]): Reply {
  const start = Math.max(0, Number(ctx.query.get("start")) || 0);
  const limit = Math.min(DC_MAX_LIMIT, Math.max(1, Number(ctx.query.get("limit")) || 25));
  const values = items.slice(start, start + limit);
  const isLastPage = start + limit >= items.length;
  return {
    status: 200,
    body: {
      size: values.length,
      limit,
      isLastPage,
      values,
      start,
      ...(!isLastPage && { nextPageStart: start + limit }),
    },
  };
}

/** The project a path names (keys ignore case), or Data Center's 404. */
export function dcProjectOf(ctx: Ctx): DcProject | Reply {
  const key = (ctx.params.projectKey ?? "").toUpperCase();
  const p = [...ctx.store.dc.projects.values()].find((x) => x.key.toUpperCase() === key);
  return p ?? dcError(404, `Project ${ctx.params.projectKey} does not exist.`);
}

/** The repository a path names, or Data Center's 404. */
export function dcRepoOf(ctx: Ctx): { project: DcProject; repo: DcRepo } | Reply {
  const project = dcProjectOf(ctx);
  if (isReply(project)) return project;
  const slug = (ctx.params.repositorySlug ?? "").toLowerCase();
  // The slug as stored first: a scan per request made the scale bench's stacks quadratic here.
  const repo =
    project.repos.get(ctx.params.repositorySlug ?? "") ??
    [...project.repos.values()].find((r) => r.slug.toLowerCase() === slug);
  return repo
    ? { project, repo }
    : dcError(404, `Repository ${project.key}/${ctx.params.repositorySlug} does not exist.`);
}

/** The repository or project (no repositorySlug in the path) a path names. */
export function dcScopeOf(ctx: Ctx): { project: DcProject; repo?: DcRepo } | Reply {
  if (ctx.params.repositorySlug !== undefined) return dcRepoOf(ctx);
  const project = dcProjectOf(ctx);
  return isReply(project) ? project : { project };
}

export const projectRef = (p: DcProject) => ({
  id: p.id,
  key: p.key,
  name: p.key,
  public: false,
  type: "NORMAL",
});

export const repoRef = (p: DcProject, r: DcRepo) => ({
  id: r.id,
  slug: r.slug,
  name: r.slug,
  scmId: "git",
  state: "AVAILABLE",
  forkable: true,
  public: false,
  project: projectRef(p),
});

/** A user as Data Center shows one (RestApplicationUser); an unknown slug shows as itself. */
export function userRef(store: DcStore, slug: string) {
  const u = store.users.get(slug);
  return {
    name: u?.name ?? slug,
    emailAddress: `${slug}@example.test`,
    active: true,
    displayName: u?.displayName ?? slug,
    id: [...store.users.keys()].indexOf(slug) + 1,
    slug,
    type: "NORMAL",
  };
}
