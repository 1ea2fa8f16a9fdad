// Mutation scores from Stryker's JSON report (mutation-testing-report-schema), per file and per
// module, and the verdict against a floor. Score = detected / valid, as Stryker counts it:
// detected = Killed + Timeout; valid = detected + Survived + NoCoverage (compile and runtime
// errors, ignored mutants, and those a sampled run left out count for neither). A sampled run's
// score is an estimate: its line gives the 95% interval.

export interface ReportMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  statusReason?: string;
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
  /** Left out of a sampled run (sample-checker.mjs). */
  notSampled: number;
}

/** How the reason of a mutant a sampled run left out starts (sample-checker.mjs says it so). */
export const NOT_SAMPLED = "not in the sample";

const detected = (t: Tally) => t.killed + t.timeout;
const valid = (t: Tally) => detected(t) + t.survived + t.noCoverage;

export const score = (t: Tally): number => (valid(t) === 0 ? 100 : (100 * detected(t)) / valid(t));

function tally(mutants: ReportMutant[]): Tally {
  const t: Tally = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, invalid: 0, notSampled: 0 };
  for (const m of mutants) {
    if (m.status === "Killed") t.killed++;
    else if (m.status === "Timeout") t.timeout++;
    else if (m.status === "Survived") t.survived++;
    else if (m.status === "NoCoverage") t.noCoverage++;
    else if (m.status === "CompileError" && m.statusReason?.startsWith(NOT_SAMPLED)) t.notSampled++;
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

/**
 * The 95% Wilson interval of a score measured on a random sample (in percent): where the score of
 * all the mutants lies, 19 times in 20. Sound at the ends too (a sample all killed is not "100%").
 */
export function interval(t: Tally): { low: number; high: number } {
  const n = valid(t);
  if (n === 0) return { low: 0, high: 100 };
  const z = 1.96;
  const p = detected(t) / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return { low: 100 * Math.max(0, centre - half), high: 100 * Math.min(1, centre + half) };
}

/** One line per module: its score against its floor, and whether it holds. */
export function verdictLine(name: string, t: Tally, floor: number): { line: string; holds: boolean } {
  const s = score(t);
  const holds = s >= floor;
  const counts = `${t.killed} killed, ${t.timeout} timed out, ${t.survived} survived, ${t.noCoverage} not reached`;
  const tested = valid(t);
  const { low, high } = interval(t);
  const sample =
    t.notSampled > 0
      ? `, a sample of ${tested} of ${tested + t.notSampled} mutants: 95% interval ${low.toFixed(0)}-${high.toFixed(0)}%`
      : "";
  return {
    holds,
    line: `${name}: ${pct(s)} (${counts}${sample}); floor ${floor}%: ${holds ? "holds" : `BELOW by ${(floor - s).toFixed(1)} points`}`,
  };
}
