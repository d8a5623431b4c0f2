import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc } from './configuration-doc.js';
import { configHelp } from './help.js';

const TEMPLATE = fileURLToPath(new URL('configuration.template.md', import.meta.url));
const DOC = fileURLToPath(new URL('../../../../docs/configuration.md', import.meta.url));
const REGENERATE = 'pnpm --filter @ssehub/gateway run docs:config';

/** Set by the docs:config script: write the file instead of checking it. */
const isWriting = process.env['SSEHUB_WRITE_CONFIGURATION_DOC'] === '1';

const rendered = (): string => renderConfigurationDoc(readFileSync(TEMPLATE, 'utf8'));

describe('docs/configuration.md', () => {
  it('is the render of the settings table and its template', () => {
    if (isWriting) {
      writeFileSync(DOC, rendered());
      return;
    }
    expect(
      readFileSync(DOC, 'utf8'),
      `docs/configuration.md is out of date with src/config/settings.ts or configuration.template.md: run \`${REGENERATE}\` and commit the result`,
    ).toBe(rendered());
  });

  it('lists every flag --help lists', () => {
    const flags = configHelp().match(/^ {2}--[a-z-]+(?= <)/gm) ?? [];
    expect(flags.length).toBeGreaterThan(30);
    for (const flag of flags) expect(rendered()).toContain(`| \`${flag.trim()} <`);
  });

  it('refuses a template that leaves a group out', () => {
    const template = readFileSync(TEMPLATE, 'utf8').replace('<!-- settings: Limits -->', '');
    expect(() => renderConfigurationDoc(template)).toThrow(
      'configuration template: needs one "<!-- settings: Limits -->" marker, has 0',
    );
  });
});
