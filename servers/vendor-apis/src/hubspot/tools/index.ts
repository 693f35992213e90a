// The HubSpot tools, in the order tools/list shows them: one file per tool, one line here.
import type { AnyTool } from '@mcp-fleet/core';
import { hubspotCreateNote } from './create-note.js';
import { hubspotGetCompany } from './get-company.js';
import { hubspotGetContact } from './get-contact.js';
import { hubspotListDeals } from './list-deals.js';
import { hubspotSearchContacts } from './search-contacts.js';

export const hubspotTools: AnyTool[] = [
  hubspotSearchContacts,
  hubspotGetContact,
  hubspotGetCompany,
  hubspotListDeals,
  hubspotCreateNote,
];
