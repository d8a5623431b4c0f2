/**
 * Renders docs/configuration.md: the hand-written prose of `configuration.template.md`, with
 * each `<!-- settings: <group> -->` marker replaced by the table of that group's settings from
 * {@link SETTINGS} (variable, flag, option, default, meaning), so the operator reference cannot
 * drift from the settings the gateway reads. `pnpm --filter @ssehub/gateway run docs:config`
 * writes the file; configuration-doc.test.ts fails when the committed one is out of date.
 */
import {
  SETTING_KEYS,
  SETTINGS,
  defaultText,
  envName,
  flagName,
  type Group,
  type Setting,
  type SettingKey,
} from './settings.js';

/** First line of the rendered file: says where it comes from, for whoever opens it to edit. */
const GENERATED_NOTICE =
  '<!-- Generated from services/gateway/src/config/settings.ts and configuration.template.md by `pnpm --filter @ssehub/gateway run docs:config`: edit those, not this file. -->';

/** Where a group's table goes; the group name is the `--help` heading. */
const MARKER = /^<!-- settings: (.+) -->$/gm;

/** The template's own leading comment (how to edit it), which the rendered file does not keep. */
const TEMPLATE_COMMENT = /^<!--[\s\S]*?-->\n+/;

/**
 * Markdown would read `*` (emphasis) and `\` (escape) in help text, written for a terminal:
 * words holding either go in a code span (`REDIS_*`, `RS*`, `\n`, a lone `*`).
 */
const MARKDOWN_ACTIVE_WORD = /[\w]*[*\\][\w*]*/g;

const code = (text: string): string => `\`${text}\``;

const markdownText = (text: string): string => text.replace(MARKDOWN_ACTIVE_WORD, code);

/**
 * A default as the docs show it: a plain value in a code span (`8080`), a described default as
 * prose (`unset (embedded broker)`), with the value at its start in a code span (`0` (off)).
 */
function defaultCell(setting: Setting<unknown>): string {
  const fallback = setting.default;
  const text = defaultText(setting);
  if (!('value' in fallback)) return markdownText(text);
  const { value } = fallback;
  if (typeof value !== 'string' && typeof value !== 'number') return markdownText(text);
  const shown = String(value);
  return text.startsWith(shown)
    ? code(shown) + markdownText(text.slice(shown.length))
    : markdownText(text);
}

function row(key: SettingKey): string[] {
  const setting: Setting<unknown> = SETTINGS[key];
  return [
    code(envName(key)),
    code(`${flagName(key)} ${setting.kind.placeholder}`),
    code(key),
    defaultCell(setting),
    markdownText(setting.doc),
  ];
}

/**
 * A table laid out as Prettier lays it out (cells padded to the widest in their column), so the
 * rendered file passes `prettier --check` unchanged. Widths are string lengths: every cell is
 * ASCII but for `…`, which is one UTF-16 unit and one column wide.
 */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const width = (cell: string): number => cell.length;
  const widths = header.map((title, column) =>
    Math.max(width(title), ...rows.map((cells) => width(cells[column] ?? ''))),
  );
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, column) => cell + ' '.repeat((widths[column] ?? 0) - width(cell))).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * The settings of one group (in table order), as a Markdown table.
 *
 * @throws Error when the group has no settings (a marker naming no group, or a typo).
 */
function groupTable(group: string): string {
  const keys = SETTING_KEYS.filter((key) => SETTINGS[key].group === group);
  if (keys.length === 0) throw new Error(`configuration template: no settings in group "${group}"`);
  return markdownTable(['Variable', 'Flag', 'Option', 'Default', 'Meaning'], keys.map(row));
}

/**
 * docs/configuration.md for this settings table. Pure: the template is passed in.
 *
 * @param template - The text of `configuration.template.md`.
 * @returns The whole file, ending in a newline.
 * @throws Error when a group of the table has no marker in the template, or has two, so a new
 *   group cannot be left out of the docs unnoticed.
 */
export function renderConfigurationDoc(template: string): string {
  const groups = new Set<Group>(SETTING_KEYS.map((key) => SETTINGS[key].group));
  const marked = [...template.matchAll(MARKER)].map((match) => match[1] ?? '');
  for (const group of groups) {
    const count = marked.filter((name) => name === group).length;
    if (count !== 1) {
      throw new Error(
        `configuration template: needs one "<!-- settings: ${group} -->" marker, has ${count}`,
      );
    }
  }
  const body = template
    .replace(TEMPLATE_COMMENT, '')
    .replace(MARKER, (_marker, group: string) => groupTable(group));
  return `${GENERATED_NOTICE}\n\n${body.trimEnd()}\n`;
}
