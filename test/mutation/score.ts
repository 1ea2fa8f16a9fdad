// Mutation scores from Stryker's JSON report (mutation-testing-report-schema), per file and per
// module, and the verdict against a floor. Score = detected / valid, as Stryker counts it:
// detected = Killed + Timeout; valid = detected + Survived + NoCoverage (compile and runtime
// errors and ignored mutants count for neither).

export interface ReportMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number } };
}
export interface Report {
  files: Record<string, { mutants: ReportMutant[] }>;
}

export interface Tally {
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  invalid: number;
}

export const score = (t: Tally): number => {
  const detected = t.killed + t.timeout;
  const valid = detected + t.survived + t.noCoverage;
  return valid === 0 ? 100 : (100 * detected) / valid;
};

function tally(mutants: ReportMutant[]): Tally {
  const t: Tally = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, invalid: 0 };
  for (const m of mutants) {
    if (m.status === "Killed") t.killed++;
    else if (m.status === "Timeout") t.timeout++;
    else if (m.status === "Survived") t.survived++;
    else if (m.status === "NoCoverage") t.noCoverage++;
    else if (m.status !== "Ignored") t.invalid++;
  }
  return t;
}

/** The module's tally and each file's, files sorted by name. */
export function tallies(report: Report): { total: Tally; files: Array<{ file: string; tally: Tally }> } {
  const files = Object.keys(report.files)
    .sort()
    .map((file) => ({ file, tally: tally(report.files[file]!.mutants) }));
  return { total: tally(Object.values(report.files).flatMap((f) => f.mutants)), files };
}

/** The mutants the tests let live, as `file:line:column mutator: replacement`, in file order. */
export function survivors(report: Report): string[] {
  return Object.keys(report.files)
    .sort()
    .flatMap((file) =>
      report.files[file]!.mutants.filter((m) => m.status === "Survived" || m.status === "NoCoverage")
        .sort(
          (a, b) =>
            a.location.start.line - b.location.start.line ||
            a.location.start.column - b.location.start.column,
        )
        .map((m) => {
          const at = `${file}:${m.location.start.line}:${m.location.start.column}`;
          const what = (m.replacement ?? "").replace(/\s+/g, " ").slice(0, 80);
          return `${at} ${m.mutatorName}${m.status === "NoCoverage" ? " (no test reaches it)" : ""}: ${what}`;
        }),
    );
}

const pct = (n: number) => `${n.toFixed(1)}%`;

/** One line per module: its score against its floor, and whether it holds. */
export function verdictLine(name: string, t: Tally, floor: number): { line: string; holds: boolean } {
  const s = score(t);
  const holds = s >= floor;
  const counts = `${t.killed} killed, ${t.timeout} timed out, ${t.survived} survived, ${t.noCoverage} not reached`;
  return {
    holds,
    line: `${name}: ${pct(s)} (${counts}); floor ${floor}%: ${holds ? "holds" : `BELOW by ${(floor - s).toFixed(1)} points`}`,
  };
}
