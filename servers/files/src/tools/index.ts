// The files server's tools, in the order tools/list shows them.
import type { AnyTool } from '@mcp-fleet/core';
import type { FilesConnectors } from './context.js';
import { getFileInfo } from './get-file-info.js';
import { listFolder } from './list-folder.js';
import { readDocument } from './read-document.js';
import { searchDocuments } from './search-documents.js';
import { writeReport } from './write-report.js';

/** Every tool of the files server. */
export const filesTools: readonly AnyTool<FilesConnectors>[] = [
  listFolder,
  getFileInfo,
  readDocument,
  searchDocuments,
  writeReport,
];
