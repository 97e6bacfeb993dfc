// Parses PowerShell files with the tree-sitter PowerShell grammar and reports syntax errors:
// a check that runs where pwsh does not. Usage: node ps_syntax.mjs NODE_MODULES_DIR FILE...
// Exits 1 when a file has an ERROR or MISSING node.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...files] = process.argv.slice(2);
const Parser = createRequire(join(modules, "noop.js"))("tree-sitter");
const grammar = await import(pathToFileURL(join(modules, "tree-sitter-powershell", "bindings", "node", "index.js")));
const parser = new Parser();
parser.setLanguage(grammar.default);

let failed = 0;
for (const file of files) {
  const source = readFileSync(file, "utf8");
  const tree = parser.parse(source, null, { bufferSize: 1 << 23 });
  const problems = [];
  const walk = (node) => {
    if (node.type === "ERROR" || node.isMissing) problems.push(node);
    for (let i = 0; i < node.childCount; i++) walk(node.child(i));
  };
  walk(tree.rootNode);
  console.log(`${problems.length ? "syntax error" : "ok"}: ${file}`);
  for (const node of problems.slice(0, 5)) {
    const text = source.slice(node.startIndex, Math.min(node.endIndex, node.startIndex + 100));
    const what = node.isMissing ? `missing ${node.type}` : "unexpected";
    console.log(`  line ${node.startPosition.row + 1}, column ${node.startPosition.column + 1}: ${what}: ${JSON.stringify(text)}`);
  }
  if (problems.length) failed++;
}
process.exit(failed ? 1 : 0);
