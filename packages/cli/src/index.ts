// Library surface of the CLI (used by tests).
export { checkPolicyFile, type ExplainRow, explainPolicy, type ServerTools } from './commands/policy.js';
export { parseDuration } from './commands/token.js';
