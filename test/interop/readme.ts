// The client configurations the README shows under "Connecting agents", read from README.md itself, so
// a README change that breaks a configuration breaks the interop test that runs them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverServers, ROOT } from '../../packages/cli/src/layout.js';

/** One fenced code block: its language and text. */
export interface Fenced {
  lang: string;
  code: string;
}

/** The fenced blocks of the README section whose heading is `heading` (up to the next `## `). */
export function sectionBlocks(
  heading: string,
  readme = readFileSync(join(ROOT, 'README.md'), 'utf8'),
): Fenced[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 4);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

/** A Claude Desktop `mcpServers` entry (a command that speaks MCP over stdio). */
export interface StdioEntry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}
/** A Cursor `mcpServers` entry (a remote server over Streamable HTTP). */
export interface HttpEntry {
  url: string;
  headers?: Record<string, string>;
}

/** What "Connecting agents" configures, each found by its shape (not by its position). */
export interface ReadmeClients {
  claudeDesktop: Record<string, StdioEntry>;
  cursor: Record<string, HttpEntry>;
  /** The LangChain snippet (TypeScript). */
  langchain: string;
  /** The shell lines that run `mcp-remote` with no header. */
  mcpRemoteLines: string[];
}

export function readmeClients(readme?: string): ReadmeClients {
  const blocks = sectionBlocks('Connecting agents', readme);
  const json = blocks
    .filter((b) => b.lang === 'json')
    .map((b) => JSON.parse(b.code) as { mcpServers: Record<string, unknown> });
  const claude = json.find((j) => Object.values(j.mcpServers).some((e) => 'command' in (e as object)));
  const cursor = json.find((j) => Object.values(j.mcpServers).some((e) => 'url' in (e as object)));
  const langchain = blocks.find((b) => b.lang === 'ts' && b.code.includes('MultiServerMCPClient'));
  const mcpRemoteLines = blocks
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => b.code.split('\n'))
    .filter((l) => /^npx (-y )?mcp-remote /.test(l));
  if (!claude || !cursor || !langchain)
    throw new Error(
      'README "Connecting agents" lacks the Claude Desktop JSON, the Cursor JSON or the LangChain snippet',
    );
  return {
    claudeDesktop: claude.mcpServers as Record<string, StdioEntry>,
    cursor: cursor.mcpServers as Record<string, HttpEntry>,
    langchain: langchain.code,
    mcpRemoteLines,
  };
}

/** The URL a server has in the README (its manifest's port): `http://127.0.0.1:7401/mcp`... */
export function readmeUrls(): Record<string, string> {
  // Read the manifests' ports, not FLEET_PORT_* overrides: the README documents the defaults.
  return Object.fromEntries(
    discoverServers().map((s) => [s.name, `http://127.0.0.1:${s.manifest.port}/mcp`]),
  );
}

/** `text` with every README server URL replaced by the running fleet's URL of that server. */
export function toFleet(text: string, fleetUrls: Record<string, string>): string {
  let out = text;
  for (const [name, url] of Object.entries(readmeUrls())) out = out.split(url).join(fleetUrls[name]!);
  return out;
}

/** The server a README URL names (`http://127.0.0.1:7401/mcp` → database). */
export function serverOfUrl(url: string): string {
  const found = Object.entries(readmeUrls()).find(([, u]) => u === url)?.[0];
  if (!found) throw new Error(`${url} is no server's URL in this checkout`);
  return found;
}

/** The arguments of the `fleet token ...` command written in `text` (a comment, a placeholder). */
export function tokenCommand(text: string): string[] {
  const m = /fleet token ((?:--?[\w-]+(?: [\w.-]+)?\s*)+)/.exec(text);
  if (!m) throw new Error(`no "fleet token ..." command in: ${text}`);
  return m[1]!.trim().split(/\s+/);
}
