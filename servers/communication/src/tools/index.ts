// The communication server's tools, in the order tools/list shows them: one file per tool, one line here.
import { listItems } from './list-items.js';

export const tools = [listItems];
