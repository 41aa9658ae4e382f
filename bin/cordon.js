#!/usr/bin/env node
// `cordon`: runs the compiled CLI in dist/ (`npm run build`). In a clone whose dist/ is missing
// or older than a source file, it runs the TypeScript sources through tsx instead: slower to start,
// never stale, and no build needed. An installed package has no sources and always runs dist/.
const { existsSync, readdirSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
// The build writes the workflow bundle last: when it is there, the compiled code is complete.
const BUILT = path.join(root, 'dist', 'workflow-bundle.js');
const SOURCE_DIRS = ['src', 'activities', 'worker', 'workflows'].map((dir) => path.join(root, dir));

// The latest change under a folder: a file edited, or (the folder's own time) added or removed.
function latestChange(dir) {
  let latest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? latestChange(file) : statSync(file).mtimeMs);
  }
  return latest;
}

function compiledIsCurrent() {
  if (!existsSync(BUILT)) return false;
  const built = statSync(BUILT).mtimeMs;
  return SOURCE_DIRS.filter((dir) => existsSync(dir)).every((dir) => latestChange(dir) <= built);
}

// `npm run bench -- cli` asks which one a run measures.
module.exports = { compiledIsCurrent };

if (require.main === module) {
  if (compiledIsCurrent()) {
    require('../dist/src/cli/main.js');
  } else {
    require('tsx/cjs');
    require('../src/cli/main.ts');
  }
}
