// What kind of document a file is: by extension, checked against its first bytes, so a binary
// file is described ("PNG image, 40 KB") rather than dumped into the model's context.
import { extname } from 'node:path';

/** Document kinds the tools distinguish. */
export type DocumentKind = 'markdown' | 'text' | 'json' | 'csv' | 'pdf' | 'binary';

const BY_EXTENSION: Record<string, { kind: DocumentKind; mediaType: string }> = {
  '.md': { kind: 'markdown', mediaType: 'text/markdown' },
  '.markdown': { kind: 'markdown', mediaType: 'text/markdown' },
  '.txt': { kind: 'text', mediaType: 'text/plain' },
  '.text': { kind: 'text', mediaType: 'text/plain' },
  '.log': { kind: 'text', mediaType: 'text/plain' },
  '.yaml': { kind: 'text', mediaType: 'application/yaml' },
  '.yml': { kind: 'text', mediaType: 'application/yaml' },
  '.xml': { kind: 'text', mediaType: 'application/xml' },
  '.html': { kind: 'text', mediaType: 'text/html' },
  '.htm': { kind: 'text', mediaType: 'text/html' },
  '.json': { kind: 'json', mediaType: 'application/json' },
  '.jsonl': { kind: 'json', mediaType: 'application/jsonl' },
  '.csv': { kind: 'csv', mediaType: 'text/csv' },
  '.tsv': { kind: 'csv', mediaType: 'text/tab-separated-values' },
  '.pdf': { kind: 'pdf', mediaType: 'application/pdf' },
};

const SIGNATURES: { bytes: number[]; kind: DocumentKind; mediaType: string; label: string }[] = [
  { bytes: [0x25, 0x50, 0x44, 0x46, 0x2d], kind: 'pdf', mediaType: 'application/pdf', label: 'PDF document' },
  { bytes: [0x89, 0x50, 0x4e, 0x47], kind: 'binary', mediaType: 'image/png', label: 'PNG image' },
  { bytes: [0xff, 0xd8, 0xff], kind: 'binary', mediaType: 'image/jpeg', label: 'JPEG image' },
  { bytes: [0x47, 0x49, 0x46, 0x38], kind: 'binary', mediaType: 'image/gif', label: 'GIF image' },
  {
    bytes: [0x50, 0x4b, 0x03, 0x04],
    kind: 'binary',
    mediaType: 'application/zip',
    label: 'ZIP archive (also docx/xlsx/pptx)',
  },
  { bytes: [0x1f, 0x8b], kind: 'binary', mediaType: 'application/gzip', label: 'gzip archive' },
  {
    bytes: [0x7f, 0x45, 0x4c, 0x46],
    kind: 'binary',
    mediaType: 'application/x-executable',
    label: 'ELF executable',
  },
];

/** The kind by file name alone (used when listing, where files are not opened). */
export function kindByName(name: string): { kind: DocumentKind; mediaType: string } | undefined {
  return BY_EXTENSION[extname(name).toLowerCase()];
}

/** True when `head` is valid UTF-8 text (an incomplete sequence cut off at the end is allowed). */
function looksLikeText(head: Buffer): boolean {
  if (head.includes(0)) return false;
  let end = head.length;
  // Ignore a multi-byte sequence the sample cut in half.
  for (let i = Math.max(0, end - 3); i < end; i++) {
    const b = head[i] ?? 0;
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      if (i + need > end) end = i;
      break;
    }
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

/** The binary format `head` starts with (PDF, PNG, ZIP, …), if any. */
export function signatureOf(
  head: Uint8Array,
): { kind: DocumentKind; mediaType: string; label: string } | undefined {
  const sig = SIGNATURES.find((sig) => sig.bytes.every((b, i) => head[i] === b));
  return sig ? { kind: sig.kind, mediaType: sig.mediaType, label: sig.label } : undefined;
}

/**
 * Decides the kind; `label` describes binaries for the model. The extension decides: only a
 * `.pdf` is ever handed to the PDF parser (a `.md` that starts with `%PDF-` is text, or binary if
 * it is not text — never parsed), a text extension is text when its bytes are, and a file with no
 * known extension is described by its signature, a PDF among them, but not parsed.
 */
export function sniffKind(
  name: string,
  head: Buffer,
): { kind: DocumentKind; mediaType: string; label: string } {
  const byName = kindByName(name);
  const sig = signatureOf(head);
  if (byName?.kind === 'pdf') return { ...byName, label: 'PDF document' };
  if (byName && looksLikeText(head)) return { ...byName, label: byName.mediaType };
  if (sig?.kind === 'pdf') {
    return {
      kind: 'binary',
      mediaType: sig.mediaType,
      label: 'PDF document (not named .pdf, so not extracted)',
    };
  }
  if (sig) return sig;
  if (!byName && looksLikeText(head)) return { kind: 'text', mediaType: 'text/plain', label: 'text' };
  return { kind: 'binary', mediaType: 'application/octet-stream', label: 'binary data' };
}
