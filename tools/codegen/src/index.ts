// Programmatic API of the generator (used by tests and by other tools).
export { checkContract, ContractError, crossCheckAgreement, checkExtensions, retryableByStatus } from './agreement.ts';
export { loadContract, parseContract, type Contract } from './contract.ts';
export { generate, generateWorkspace, TARGETS, writeOutputs, type Target } from './generate.ts';
export { generatedHeader } from './header.ts';
export { listOperations, type OperationInfo } from './operations.ts';
