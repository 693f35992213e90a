// SCIM resource ids as the admin server accepts them back from the directory before it puts one in a
// URL path (/Users/{id}, /Groups/{id}): Okta's `00u…`/`00g…`, Entra's and OneLogin's GUIDs or numbers
// — letters, digits, `-` and `_`, 1 to 64 characters. An id the directory returns in any other shape
// (`../Groups/x`, `00u1/lifecycle/activate`, `*`) is treated as a broken answer, never followed (A14).
import { z } from 'zod';

export const SCIM_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** True when `v` is an id the server will put in a path. */
export const isScimId = (v: unknown): v is string => typeof v === 'string' && SCIM_ID.test(v);

/** A SCIM id in a directory answer. */
export const scimId = z.string().regex(SCIM_ID, 'not a SCIM id this server follows');
