// Cordon runs either from its TypeScript sources through tsx (a clone: `npm start`, the tests)
// or compiled into dist/ by `npm run build` (bin/cordon.js, the container image). dist/ mirrors
// the project's layout one level down, so paths into the project go through here.
import path from 'node:path';

/** Whether this is the compiled copy (dist/src/projectRoot.js) rather than the source. */
export const COMPILED = path.extname(__filename) === '.js';

/** The folder that holds package.json, config/ and scripts/: dist/'s parent when compiled. */
export const PROJECT_ROOT = path.resolve(__dirname, ...(COMPILED ? ['..', '..'] : ['..']));

/** `node` arguments that run an entry point (`src/main`, without extension) as this code runs. */
export const nodeArgsFor = (entry: string): string[] =>
  COMPILED
    ? ['--enable-source-maps', path.join(PROJECT_ROOT, 'dist', `${entry}.js`)]
    : ['-r', 'tsx/cjs', path.join(PROJECT_ROOT, `${entry}.ts`)];
