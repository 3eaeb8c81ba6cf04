import { createRequire } from 'node:module';

type YamlLib = typeof import('yaml');

let loaded: YamlLib | undefined;

/**
 * The `yaml` package, loaded on first use. A valid plan is read by js-yaml alone (parse.ts), and
 * loading `yaml` (some forty CommonJS modules) costs about 35 ms of every command's start-up; it
 * is needed only to locate problems, and by readers of invalid plans.
 */
export function yamlLib(): YamlLib {
  loaded ??= createRequire(import.meta.url)('yaml') as YamlLib;
  return loaded;
}
