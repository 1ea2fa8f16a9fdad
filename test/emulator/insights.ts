// The emulator's Code Insights: reports on commits and their annotations, for both flavors (routes:
// routes/reports.ts for Cloud, routes/dc/insights.ts for Data Center). Commits are not modelled:
// any full hash of an existing repository takes a report. Plain data; tests read it back with
// `get("cloud", "acme/api", sha, "bitbucket-iac-plan")`.

/** One annotation as stored: the fields as sent (each flavor's names), plus what Bitbucket adds. */
export interface StoredAnnotation {
  /** Cloud `external_id`, Data Center `externalId` (optional there). */
  externalId?: string;
  uuid: string;
  fields: Record<string, unknown>;
  created: string;
  updated: string;
}

export interface StoredReport {
  /** Cloud: the external id in the path; Data Center: the key. */
  key: string;
  uuid: string;
  /** The fields as sent (title, details, result, data...). */
  fields: Record<string, unknown>;
  /** Who published it: Data Center lets only them replace it. */
  author: string;
  created: number;
  updated: number;
  annotations: StoredAnnotation[];
}

/** How many annotations a report keeps (Cloud spec; Data Center's default). */
export const MAX_ANNOTATIONS = 1000;

export class InsightsStore {
  private readonly reports = new Map<string, StoredReport>();

  /** `cloud acme/api <commit> <key>`: repositories by their id, as both flavors address them in any case. */
  private static id(flavor: string, repo: string, commit: string, key: string): string {
    return `${flavor} ${repo.toLowerCase()} ${commit.toLowerCase()} ${key}`;
  }

  get(flavor: string, repo: string, commit: string, key: string): StoredReport | undefined {
    return this.reports.get(InsightsStore.id(flavor, repo, commit, key));
  }

  set(flavor: string, repo: string, commit: string, r: StoredReport): void {
    this.reports.set(InsightsStore.id(flavor, repo, commit, r.key), r);
  }

  delete(flavor: string, repo: string, commit: string, key: string): boolean {
    return this.reports.delete(InsightsStore.id(flavor, repo, commit, key));
  }

  /** Every report on a commit. */
  all(flavor: string, repo: string, commit: string): StoredReport[] {
    const prefix = InsightsStore.id(flavor, repo, commit, "");
    return [...this.reports].filter(([k]) => k.startsWith(prefix)).map(([, r]) => r);
  }
}
