// The Salesforce tools, in the order tools/list shows them: one file per tool, one line here.
import type { AnyTool } from '@mcp-fleet/core';
import { salesforceCreateTask } from './create-task.js';
import { salesforceGetRecord } from './get-record.js';
import { salesforceQuery } from './query.js';
import { salesforceUpdateRecord } from './update-record.js';

export const salesforceTools: AnyTool[] = [
  salesforceQuery,
  salesforceGetRecord,
  salesforceUpdateRecord,
  salesforceCreateTask,
];
