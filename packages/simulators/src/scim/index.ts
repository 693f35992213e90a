// The SCIM simulator's public surface (re-exported by the package index).
export { FILTERABLE, parseScimFilter, type ScimComparison, ScimFilterError, scimString } from './filter.js';
export {
  oktaLikeId,
  SCIM_SCHEMAS,
  SCIM_SIM,
  ScimError,
  type ScimSimGroup,
  type ScimSimUser,
  ScimSimulator,
  type ScimSimulatorOptions,
  type StartedScimSimulator,
  startScimSimulator,
} from './simulator.js';
