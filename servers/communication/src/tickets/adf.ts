// Plain text <-> Atlassian Document Format (Jira Cloud REST v3 rich text). Text goes out verbatim:
// one paragraph per line, no marks, nothing parsed as markup; documents come back as plain text.

/** An ADF node (the subset this module writes, and any node it reads). */
export type AdfNode = {
  type: string;
  text?: string;
  attrs?: Record<string, unknown>;
  content?: AdfNode[];
  marks?: unknown[];
};

/** An ADF document. */
export type AdfDoc = {
  type: 'doc';
  version: 1;
  content: AdfNode[];
};

/**
 * The ADF document of `text`: each line (split on "\n") is a paragraph holding one text node, an
 * empty line an empty paragraph. `adfToText(textToAdf(t)) === t` for every string.
 */
export function textToAdf(text: string): AdfDoc {
  return {
    type: 'doc',
    version: 1,
    content: text.split('\n').map((line) => ({
      type: 'paragraph',
      ...(line === '' ? {} : { content: [{ type: 'text', text: line }] }),
    })),
  };
}

const BLOCKS = new Set([
  'paragraph',
  'heading',
  'blockquote',
  'codeBlock',
  'panel',
  'rule',
  'mediaSingle',
  'mediaGroup',
  'table',
  'tableRow',
  'expand',
  'nestedExpand',
  'decisionList',
  'taskList',
]);

/** The text of an inline node that is not a text node (mentions, emoji, cards, dates). */
function inlineText(node: AdfNode): string {
  const a = node.attrs ?? {};
  const pick = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : '');
  switch (node.type) {
    case 'hardBreak':
      return '\n';
    case 'mention':
      return pick('text') || '@someone';
    case 'emoji':
      return pick('text') || pick('shortName');
    case 'inlineCard':
    case 'blockCard':
      return pick('url');
    case 'date':
      return pick('timestamp');
    case 'status':
      return pick('text');
    default:
      return '';
  }
}

/** Plain text of a list of nodes: blocks on their own lines, list items prefixed. */
function nodesToText(nodes: readonly AdfNode[], listPrefix = ''): string[] {
  const lines: string[] = [];
  let inline = '';
  const flush = () => {
    if (inline !== '') lines.push(...inline.split('\n'));
    inline = '';
  };
  for (const node of nodes) {
    if (node === null || typeof node !== 'object') continue;
    if (node.type === 'text') inline += typeof node.text === 'string' ? node.text : '';
    else if (node.type === 'bulletList' || node.type === 'orderedList') {
      flush();
      (node.content ?? []).forEach((item, i) => {
        const marker = node.type === 'orderedList' ? `${i + 1}. ` : '- ';
        const inner = nodesToText(item.content ?? []);
        inner.forEach((l, j) => {
          lines.push(`${listPrefix}${j === 0 ? marker : ' '.repeat(marker.length)}${l}`);
        });
      });
    } else if (
      BLOCKS.has(node.type) ||
      node.type === 'listItem' ||
      node.type === 'tableCell' ||
      node.type === 'tableHeader'
    ) {
      flush();
      const inner = nodesToText(node.content ?? []);
      lines.push(...(inner.length ? inner : ['']));
    } else if (node.content) inline += nodesToText(node.content).join('\n');
    else inline += inlineText(node);
  }
  flush();
  return lines;
}

/**
 * Plain text of an ADF document (or of a string, for fields that come back as text): paragraphs
 * joined by "\n", hard breaks as "\n", mentions and emoji as their text. Unknown input gives "".
 */
export function adfToText(doc: unknown): string {
  if (typeof doc === 'string') return doc;
  if (doc === null || typeof doc !== 'object') return '';
  const content = (doc as AdfNode).content;
  if (!Array.isArray(content)) return '';
  return nodesToText(content).join('\n');
}
