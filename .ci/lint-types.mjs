// `npm run lint`'s type check and ESLint (after Prettier), on one TypeScript program: tsc's
// diagnostics for tsconfig.json (what `tsc --noEmit` prints), then ESLint with eslint.config.mjs,
// its typed rules given that program (typescript-eslint's `parserOptions.programs`) instead of
// building their own. One program where there were two: 40 s of CPU instead of 54 (`npm test`
// runs this beside the tests, on the same two cores). Editors keep the config's projectService.
// Exit 1 on a type error or an ESLint error, each printed as tsc and ESLint print them.
import { ESLint } from "eslint";
import ts from "typescript";

const config = ts.getParsedCommandLineOfConfigFile(
  "tsconfig.json",
  { noEmit: true },
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  },
);
// The config's own problems (an unknown option, no input files) come out with the rest, as tsc's do.
const program = ts.createProgram({
  rootNames: config.fileNames,
  options: config.options,
  configFileParsingDiagnostics: config.errors,
});
const diagnostics = ts.getPreEmitDiagnostics(program);
// As tsc prints them: with colour and the line's text on a terminal, else one line each.
const format = process.stdout.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
if (diagnostics.length > 0)
  process.stdout.write(
    format(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: ts.sys.getCurrentDirectory,
      getNewLine: () => "\n",
    }),
  );

const eslint = new ESLint({
  overrideConfig: {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: false, programs: [program] } },
  },
});
const results = await eslint.lintFiles(["."]);
const report = await (await eslint.loadFormatter("stylish")).format(results);
if (report) process.stdout.write(report);

const eslintErrors = results.reduce((n, r) => n + r.errorCount, 0);
if (diagnostics.length > 0 || eslintErrors > 0) process.exitCode = 1;
