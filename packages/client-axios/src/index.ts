export * from './generated';
export { checkService, createAxiosClients } from './smoke';
export type { ServiceCheckOptions, ServiceCheckResult } from './smoke';
