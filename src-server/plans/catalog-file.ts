import { readFileSync } from 'node:fs';
import { type Catalog, CatalogError, parseCatalog } from '../../src-shared/catalog.ts';

/** Reads and validates a vendor's catalog file (Node runtimes only: the server and main). */
export function loadCatalogFile(path: string): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CatalogError(`${path} could not be read: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new CatalogError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseCatalog(data, path);
}
