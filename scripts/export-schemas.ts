// Writes JSON Schema for the policy, inventory and alert files into schema/ for editors.
// `npm run schema`; a test fails when the committed files are stale.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { jsonSchemas } from '../src/schemas';

for (const [name, schema] of Object.entries(jsonSchemas())) {
  const file = path.join(__dirname, '..', 'schema', `${name}.schema.json`);
  writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
  console.error(`wrote ${path.relative(process.cwd(), file)}`);
}
