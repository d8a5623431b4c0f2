/**
 * The text of `ssehub-gateway --help`, rendered from the settings table.
 */
import {
  SETTING_KEYS,
  SETTINGS,
  defaultText,
  envName,
  flagName,
  type Group,
  type Setting,
} from './settings.js';

/** Greedy word wrap of one paragraph to `width` columns, each line starting with `indent`. */
function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/**
 * Text for `--help`: usage, how flags and variables combine, then every flag grouped by topic
 * with its variable, default and meaning.
 */
export function configHelp(): string {
  const lines = [
    'Usage: ssehub-gateway [--<setting> <value> | --<setting>=<value>]...',
    '',
    ...wrap(
      'Every setting is read from an environment variable or from the flag of the same name in kebab case (PORT is --port). A flag wins over its variable. An empty variable counts as unset. Invalid values stop startup with exit code 1 and one message naming every bad setting.',
      '',
    ),
    '',
    '  -h, --help',
    '      Print this text and exit.',
  ];
  let group: Group | undefined;
  for (const key of SETTING_KEYS) {
    const setting: Setting<unknown> = SETTINGS[key];
    if (setting.group !== group) {
      group = setting.group;
      lines.push('', `${group}:`);
    }
    lines.push(
      `  ${flagName(key)} ${setting.kind.placeholder}  (${envName(key)}; default: ${defaultText(setting)})`,
      ...wrap(setting.doc, '      '),
    );
  }
  return `${lines.join('\n')}\n`;
}
