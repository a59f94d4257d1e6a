import type { routes } from './routes.ts';

/**
 * What a caller needs beyond authentication. `viewer` < `operator` < `owner` are roles in the
 * request's project (a platform admin holds every role everywhere); `admin` is platform
 * administration (hosts, global images, users, projects); `signed-in` is any user.
 */
export type RouteRole = 'viewer' | 'operator' | 'owner' | 'admin' | 'signed-in';

export const PROJECT_ROLES = ['viewer', 'operator', 'owner'] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

/** True when `held` is at least `needed` (viewer < operator < owner). */
export function roleAtLeast(held: ProjectRole, needed: ProjectRole): boolean {
  return PROJECT_ROLES.indexOf(held) >= PROJECT_ROLES.indexOf(needed);
}

type Routes = typeof routes;
/** Routes a user may call (everything but the host agents' own routes). */
export type UserRouteId = {
  [K in keyof Routes]: Routes[K]['auth'] extends 'user' | 'user-or-agent' ? K : never;
}[keyof Routes];

/**
 * The one authorization table: the manager checks it for every route, HTTP and WebSocket, and
 * docs/roles.md is generated from it. The type makes an entry compulsory for every user route.
 * Reading inside a guest (files, processes) and any input to it needs `operator`: a viewer sees
 * the console but cannot type into it.
 */
export const routeRoles = {
  createVm: 'operator',
  listVms: 'viewer',
  getVm: 'viewer',
  patchVm: 'operator',
  deleteVm: 'operator',
  startVm: 'operator',
  stopVm: 'operator',
  pauseVm: 'operator',
  resumeVm: 'operator',
  restartVm: 'operator',
  waitVm: 'viewer',
  vmEvents: 'viewer',
  vmLogs: 'viewer',
  vmAppLogs: 'viewer',
  listHosts: 'signed-in',
  getHost: 'signed-in',
  migrateVm: 'admin',
  drainHost: 'admin',
  listImages: 'viewer',
  getImage: 'viewer',
  execVm: 'operator',
  downloadFile: 'operator',
  uploadFile: 'operator',
  statFile: 'operator',
  listFiles: 'operator',
  makeDir: 'operator',
  moveFile: 'operator',
  removeFile: 'operator',
  vmMetrics: 'viewer',
  vmMetricsStream: 'viewer',
  vmGuestInfo: 'viewer',
  listProcesses: 'operator',
  signalProcess: 'operator',
  processStdin: 'operator',
  processOutput: 'operator',
  vmConsole: 'viewer',
  vmShell: 'operator',
  vmPortStream: 'operator',
  vmProxy: 'operator',
  createProxyPass: 'operator',
  createSnapshot: 'operator',
  listSnapshots: 'viewer',
  getSnapshot: 'viewer',
  deleteSnapshot: 'operator',
  cloneSnapshot: 'operator',
  restoreVm: 'operator',
  createSchedule: 'operator',
  listSchedules: 'viewer',
  getSchedule: 'viewer',
  updateSchedule: 'operator',
  enableSchedule: 'operator',
  disableSchedule: 'operator',
  deleteSchedule: 'operator',
  // The archive holds every project's data and the manager's keys.
  createBackup: 'admin',
  // The disk holds whatever the guest wrote: reading it is reading inside the guest.
  exportVm: 'operator',
  importVm: 'operator',
  createVolume: 'operator',
  listVolumes: 'viewer',
  getVolume: 'viewer',
  deleteVolume: 'operator',
  attachVolume: 'operator',
  detachVolume: 'operator',
  resizeVolume: 'operator',
  createNetwork: 'operator',
  listNetworks: 'viewer',
  getNetwork: 'viewer',
  deleteNetwork: 'operator',
  listLeases: 'viewer',
  createTemplate: 'operator',
  listTemplates: 'viewer',
  getTemplate: 'viewer',
  patchTemplate: 'operator',
  deleteTemplate: 'operator',
  instantiateTemplate: 'operator',
  saveVmAsTemplate: 'operator',
  createPool: 'operator',
  listPools: 'viewer',
  getPool: 'viewer',
  patchPool: 'operator',
  deletePool: 'operator',
  createFunction: 'operator',
  listFunctions: 'viewer',
  getFunction: 'viewer',
  deleteFunction: 'operator',
  deployFunction: 'operator',
  listFunctionVersions: 'viewer',
  getFunctionVersion: 'viewer',
  getFunctionCode: 'viewer',
  rollbackFunction: 'operator',
  invokeFunction: 'operator',
  invokeFunctionAsync: 'operator',
  getInvocation: 'viewer',
  functionMetrics: 'viewer',
  functionLogs: 'viewer',
  functionTrigger: 'operator',
  createContainer: 'operator',
  listContainers: 'viewer',
  getContainer: 'viewer',
  deleteContainer: 'operator',
  startContainer: 'operator',
  stopContainer: 'operator',
  restartContainer: 'operator',
  pauseContainer: 'operator',
  resumeContainer: 'operator',
  killContainer: 'operator',
  waitContainer: 'viewer',
  containerLogs: 'viewer',
  containerExec: 'operator',
  containerTop: 'operator',
  containerStats: 'viewer',
  containerEvents: 'viewer',
  putSecret: 'operator',
  listSecrets: 'viewer',
  deleteSecret: 'operator',
  putRegistryCredential: 'operator',
  listRegistryCredentials: 'viewer',
  deleteRegistryCredential: 'operator',
  eventStream: 'viewer',
  createImage: 'operator',
  uploadImageContent: 'operator',
  downloadImageContent: 'viewer',
  importImage: 'operator',
  deleteImage: 'operator',
  logout: 'signed-in',
  logoutEverywhere: 'signed-in',
  createTicket: 'signed-in',
  me: 'signed-in',
  listUsers: 'admin',
  createUser: 'admin',
  getUser: 'admin',
  patchUser: 'admin',
  deleteUser: 'admin',
  listTokens: 'signed-in',
  createToken: 'signed-in',
  deleteToken: 'signed-in',
  listProjects: 'signed-in',
  createProject: 'admin',
  getProject: 'viewer',
  patchProject: 'admin',
  deleteProject: 'admin',
  listMembers: 'viewer',
  putMember: 'owner',
  deleteMember: 'owner',
  listAudit: 'owner',
  listJoinTokens: 'admin',
  createJoinToken: 'admin',
  deleteJoinToken: 'admin',
  removeHost: 'admin',
  patchHost: 'admin',
  cordonHost: 'admin',
  uncordonHost: 'admin',
  declareHostDead: 'admin',
  rotateHostCredentials: 'admin',
  // A webhook sends the project's events (audit records included) to a URL of its creator's choosing.
  createWebhook: 'owner',
  listWebhooks: 'owner',
  deleteWebhook: 'owner',
  testWebhook: 'owner',
  webhookDeliveries: 'owner',
  prometheusMetrics: 'admin',
  vmMetricsHistory: 'viewer',
  hostMetricsHistory: 'signed-in',
} as const satisfies Record<UserRouteId, RouteRole>;

/** Console input needs more than console view. */
export const CONSOLE_INPUT_ROLE: ProjectRole = 'operator';

export function roleOf(routeId: string): RouteRole | undefined {
  return (routeRoles as Record<string, RouteRole>)[routeId];
}
