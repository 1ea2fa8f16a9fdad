// `npm pack` and `npm publish` (package.json prepack, postpack): the tarball's package.json leaves
// out the scripts npm runs when this repository is the project being installed: `prepare` (the
// build) and `postprepare` (the link of node_modules/bitbucket-iac to the repository). A project
// that installs the tarball never runs them, yet npm would list its `prepare` among the install
// scripts "not yet covered by allowScripts". `strip` keeps package.json as it is in
// package.json.packing and writes it without them; `restore` puts it back. A pack that failed
// between the two leaves package.json.packing: the next `strip` starts from it.
const fs = require("fs");

const KEPT = "package.json.packing";
const LEFT_OUT = ["prepare", "postprepare"];

const command = process.argv[2];
if (command === "strip") {
  if (!fs.existsSync(KEPT)) fs.copyFileSync("package.json", KEPT);
  const pkg = JSON.parse(fs.readFileSync(KEPT, "utf8"));
  for (const name of LEFT_OUT) delete pkg.scripts[name];
  fs.writeFileSync("package.json", `${JSON.stringify(pkg, null, 2)}\n`);
} else if (command === "restore") {
  if (fs.existsSync(KEPT)) fs.renameSync(KEPT, "package.json");
} else {
  process.stderr.write("usage: node .ci/pack-manifest.js strip|restore\n");
  process.exitCode = 2;
}
