// Publishes the public packages with nx release (independent versions) to a local npm registry.
import { ReleaseError } from './exec.mjs';

/** @param {{ root: string, registry: string, bump?: string, projects?: string[] }} _options */
export async function publishPackages(_options) {
  throw new ReleaseError('npm', 'not implemented yet');
}
