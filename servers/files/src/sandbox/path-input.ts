// Lexical checks on a path a model sent, before the filesystem is touched. These refuse every
// spelling of "somewhere else" we know of; the real-path checks in sandbox.ts are the second layer.

/** A path accepted by {@link parseUserPath}: plain segments under the root. */
export interface UserPath {
  /** Segments, without empty or `.` segments. Empty for the root itself. */
  segments: string[];
  /** The segments joined with `/` (`''` for the root). */
  rel: string;
}

/** Why a path was refused, worded for the model. */
export class PathRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathRefusal';
  }
}

const MAX_CHARS = 1024;
const MAX_SEGMENT_BYTES = 255;
const MAX_DEPTH = 64;

// C0/C1 controls incl. NUL and DEL; Unicode format characters (bidi overrides, zero-width joiners,
// BOM, soft hyphen) that make a name display differently from what it is.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const FORMAT = /\p{Cf}/u;
const PERCENT_ESCAPE = /%[0-9a-f]{2}/i;
// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const URI_SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const HINT = 'Use a plain relative path such as `docs/handbook.md`; call list_folder to see what exists.';

function refuse(why: string): never {
  throw new PathRefusal(`${why}. ${HINT}`);
}

/**
 * True when a segment means "this directory" or "the parent" under some normalisation a layer
 * below us might apply: NFKC (fullwidth `．．`, two-dot leader `‥`), or the trailing dot/space
 * stripping of SMB and Windows-backed volumes (`.. `, `...`).
 */
function isTraversalLike(segment: string): boolean {
  const nfkc = segment.normalize('NFKC');
  if (nfkc.includes('/') || nfkc.includes('\\') || PERCENT_ESCAPE.test(nfkc)) return true;
  for (const form of [segment, nfkc]) {
    const stripped = form.replace(/[. ]+$/, '');
    if (stripped === '' || stripped === '.' || stripped === '..') return true;
  }
  return false;
}

/**
 * Whether an on-disk name could be sent back through {@link parseUserPath}. Listings and searches
 * leave out names that fail, so they never show a path that cannot then be used.
 */
export function isUsableName(name: string): boolean {
  return (
    !CONTROL.test(name) &&
    !FORMAT.test(name) &&
    !LONE_SURROGATE.test(name) &&
    !PERCENT_ESCAPE.test(name) &&
    !name.includes('\\') &&
    !isTraversalLike(name) &&
    Buffer.byteLength(name, 'utf8') <= MAX_SEGMENT_BYTES
  );
}

/**
 * Parses a model-supplied path relative to the sandbox root. Throws {@link PathRefusal} for NUL
 * bytes, control or invisible characters, malformed UTF-16, URL-encoding, URIs, drive letters,
 * backslashes, absolute paths, `..` in any spelling, and oversized names.
 * @param allowRoot accept `''`, `.` and `/`-only paths as the root (folders), or refuse them (files).
 */
export function parseUserPath(input: string, allowRoot: boolean): UserPath {
  if (input.includes('\u0000')) refuse('The path contains a NUL byte');
  if (input.length > MAX_CHARS) refuse(`The path is longer than ${MAX_CHARS} characters`);
  if (LONE_SURROGATE.test(input)) refuse('The path is not valid Unicode');
  if (CONTROL.test(input)) refuse('The path contains control characters');
  if (FORMAT.test(input)) refuse('The path contains invisible formatting characters');
  if (PERCENT_ESCAPE.test(input)) refuse('The path looks URL-encoded; send it decoded');
  if (input.includes('\\')) refuse('Backslashes are not path separators here');
  if (URI_SCHEME.test(input)) refuse('Send a path, not a URI or a drive letter');
  if (input.startsWith('/') && input.replace(/\/+/g, '') !== '') {
    refuse('Absolute paths are not accepted: paths are relative to the document root');
  }
  if (input.startsWith('~')) refuse('`~` is not expanded here');
  if (input.includes('//')) refuse('The path has an empty segment (`//`)');

  const segments: string[] = [];
  for (const raw of input.split('/')) {
    if (raw === '' || raw === '.') continue;
    if (raw === '..' || isTraversalLike(raw)) refuse(`The segment \`${raw}\` would leave the folder`);
    if (Buffer.byteLength(raw, 'utf8') > MAX_SEGMENT_BYTES) refuse('A path segment is longer than 255 bytes');
    segments.push(raw);
  }
  if (segments.length > MAX_DEPTH) refuse(`The path is deeper than ${MAX_DEPTH} folders`);
  if (segments.length === 0 && !allowRoot) refuse('A file path is required, not the root folder');
  return { segments, rel: segments.join('/') };
}
