// The user tools, in the order tools/list shows them.
import { deleteUser } from './delete-user.js';
import { disableUser } from './disable-user.js';
import { getUser } from './get-user.js';
import { setUserGroups } from './set-user-groups.js';

export const scimTools = [getUser, disableUser, deleteUser, setUserGroups];
