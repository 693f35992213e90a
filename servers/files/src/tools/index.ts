// The files server's tools, in the order tools/list shows them.
import type { AnyTool } from '@mcp-fleet/core';
import { pathVersionKey, treeGenerationKey, withCacheKey } from './cache-keys.js';
import type { FilesConnectors } from './context.js';
import { getFileInfo } from './get-file-info.js';
import { listFolder } from './list-folder.js';
import { readDocument } from './read-document.js';
import { searchDocuments } from './search-documents.js';
import { writeReport } from './write-report.js';

/** Every tool of the files server. */
export const filesTools: readonly AnyTool<FilesConnectors>[] = [
  withCacheKey(listFolder, (a, c) => pathVersionKey(c.connectors, String(a.path ?? ''), true)),
  withCacheKey(getFileInfo, (a, c) => pathVersionKey(c.connectors, String(a.path), false)),
  withCacheKey(readDocument, (a, c) => pathVersionKey(c.connectors, String(a.path), false)),
  withCacheKey(searchDocuments, (_a, c) => treeGenerationKey(c.connectors)),
  writeReport,
];
