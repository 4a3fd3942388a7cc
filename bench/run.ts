import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run bench`: runs every bench/*.bench.ts in its own process, one after another, so no two
 * measurements share the machine. Each prints its own table (target beside ceiling) and writes
 * bench/results/<name>.json. `npm run bench -- server` runs only the files whose name matches.
 */
const filter = process.argv[2];
const files = readdirSync(import.meta.dirname)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => !filter || file.includes(filter))
  .sort();

let failures = 0;
for (const file of files) {
  console.log(`\n### ${file}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, file)], {
    stdio: 'inherit',
  });
  if (result.status !== 0) failures += 1;
}
console.log(`\n${files.length - failures} of ${files.length} benchmarks ran; results in bench/results/`);
process.exit(failures === 0 ? 0 : 1);
