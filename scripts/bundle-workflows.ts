// Prebuilds the workflow bundle for production images: `npm run build:workflows -- OUT`.
import { writeFileSync } from 'node:fs';
import { bundleWorkflows } from '../worker/bundle';

async function run(): Promise<void> {
  const out = process.argv[2] ?? 'dist/workflow-bundle.js';
  const { code } = await bundleWorkflows();
  writeFileSync(out, code);
  console.error(`workflow bundle written to ${out}`);
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
