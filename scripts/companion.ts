import { resolve } from 'node:path';
import { main } from '../src-main/cli.ts';
import { ensureElectron, fallbackMessage, runElectron } from './electron.ts';
import { ensureRendererBuild } from './renderer-build.ts';

/**
 * `tollgate` from a checkout (bin/tollgate.mjs, `npm run companion -- …`): the product's command line
 * (src-main/cli.ts), plus what only a checkout can do — open the Electron window with the dev
 * dependency's binary, and build the UI with Vite when --web needs it.
 */
export async function launch(argv: string[]): Promise<number> {
  if (argv.includes('--web')) await ensureRendererBuild();
  return main(argv, {
    async openWindow(config) {
      const electron = ensureElectron();
      if (electron.ok) return runElectron(electron.binary, config);
      console.log(fallbackMessage(electron.reason));
      await ensureRendererBuild();
      return 'unavailable';
    },
  });
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  launch(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
